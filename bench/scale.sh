#!/usr/bin/env bash
# `make bench-scale`: deploy/check.sh's stack (PostgreSQL, two gunicorn masters, nginx over
# HTTPS, one sender) filled with 1,000 groups by bench/scale_data.py, then the busiest hour
# played by bench/scale.py. A local SMTP server takes the reminders the sender delivers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/.venv/bin}
export BIN
SMTP_PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BENCH_SMTP_COUNT=$(mktemp /tmp/cc-bench-smtp.XXXXXX)
"$BIN/python" "$ROOT/bench/smtp_sink.py" "$SMTP_PORT" "$BENCH_SMTP_COUNT" 1800 &
SINK=$!
trap 'kill $SINK 2>/dev/null || true; rm -f "$BENCH_SMTP_COUNT"' EXIT
export DEPLOY_SMTP_PORT=$SMTP_PORT
export DEPLOY_APP="bench.app:app"
export DEPLOY_SEED="$BIN/python bench/scale_data.py"
export DEPLOY_RUN="$BIN/python bench/scale.py"
export DEPLOY_PG_OPTIONS="-c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=30min"
bash "$ROOT/deploy/check.sh"
