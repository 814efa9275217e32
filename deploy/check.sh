#!/usr/bin/env bash
# `make deploy-check`: the deployment of deploy/ run for real on 127.0.0.1, then torn down.
#
#   throwaway PostgreSQL  <-  two app instances (separate gunicorn masters, as two machines
#   would run them, deploy/gunicorn.conf.py)  <-  nginx (deploy/nginx/, HTTPS with a
#   certificate made here, HTTP/2)  <-  Chromium (deploy/test_deploy.py: each persona's main
#   path, the service worker, the offline sheet, push, a login that crosses instances)
#   + one outbox sender (flask notify-loop) as the systemd unit runs it.
#
# Needs root for apt-get (nginx) and for PostgreSQL's `su postgres`. Everything else lives
# in a temporary folder that is removed at the end, whatever happens (trap).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/.venv/bin}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=$(mktemp -d /tmp/cc-deploy-check.XXXXXX)
chmod 755 "$WORK"
PIDS=()

log() { printf '\033[1m[deploy-check]\033[0m %s\n' "$*"; }

cleanup() {
    local status=$?
    log "stopping everything"
    if [ -f "$WORK/nginx/nginx.pid" ]; then
        kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -f "$WORK/pg/data/postmaster.pid" ]; then
        su postgres -c "$PGBIN/pg_ctl -D $WORK/pg/data -m fast -w stop" >/dev/null 2>&1 || true
    fi
    if [ $status -ne 0 ]; then
        log "FAILED ($status); last lines of the logs:"
        tail -n 20 "$WORK"/*.log "$WORK"/nginx/*.log 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT INT TERM

free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- packages (at set-up of the check, never at import) -----------------------------------
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    log "installing nginx (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$PGBIN/initdb" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# --- PostgreSQL ---------------------------------------------------------------------------
PGPORT=$(free_port)
mkdir -p "$WORK/pg" && chown postgres: "$WORK/pg"
su postgres -c "$PGBIN/initdb -D $WORK/pg/data -U postgres -A trust --no-sync -E UTF8" >/dev/null
su postgres -c "$PGBIN/pg_ctl -D $WORK/pg/data -l $WORK/pg/log -w -o '-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off ${DEPLOY_PG_OPTIONS:-}' start" >/dev/null
"$BIN/python" - <<EOF
import psycopg
with psycopg.connect("postgresql://postgres@127.0.0.1:$PGPORT/postgres", autocommit=True) as c:
    c.execute("create database court_circuit")
EOF
log "PostgreSQL on 127.0.0.1:$PGPORT"

# --- the environment every instance and the sender share (deploy/court-circuit.env.example)
mkdir -p "$WORK/shared"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null \
    | openssl pkcs8 -topk8 -nocrypt -out "$WORK/shared/vapid_private.pem"
HTTPS_PORT=$(free_port)
export DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/court_circuit"
export SECRET_KEY
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')
export COURT_CIRCUIT_INSTANCE="$WORK/shared"
export HTTPS=1 TRUSTED_PROXIES=1 PUBLIC_URL="https://127.0.0.1:$HTTPS_PORT"
export RATELIMIT_ENABLED=0 # the check logs in more often than a person; limits: tests/
export WEB_CONCURRENCY=2 GUNICORN_LOG_LEVEL=warning
export PUSH_ALLOW_LOOPBACK=1
if [ -n "${DEPLOY_SMTP_PORT:-}" ]; then export SMTP_HOST=127.0.0.1 SMTP_PORT=$DEPLOY_SMTP_PORT; fi

cd "$ROOT"
"$BIN/flask" --app webapp db upgrade >"$WORK/migrate.log" 2>&1
# What fills the database (the demo; `make bench-scale` builds 1,000 groups instead).
${DEPLOY_SEED:-"$BIN/flask" --app webapp seed-demo} >>"$WORK/migrate.log" 2>&1

# --- two app instances: separate gunicorn masters ----------------------------------------
APP_A=$(free_port)
APP_B=$(free_port)
for port in "$APP_A" "$APP_B"; do
    BIND="127.0.0.1:$port" "$BIN/gunicorn" -c deploy/gunicorn.conf.py "${DEPLOY_APP:-webapp:create_app()}" \
        >"$WORK/app-$port.log" 2>&1 &
    PIDS+=($!)
done
nice -n 10 "$BIN/flask" --app webapp notify-loop --every 60 --remind-every 600 >"$WORK/sender.log" 2>&1 &
PIDS+=($!)
for port in "$APP_A" "$APP_B"; do
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null
done
log "app instances on 127.0.0.1:$APP_A and 127.0.0.1:$APP_B"

# --- nginx: the site of deploy/nginx/ with this machine's paths and ports -----------------
mkdir -p "$WORK/nginx/snippets" "$WORK/nginx/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$WORK/nginx/privkey.pem" -out "$WORK/nginx/fullchain.pem" 2>/dev/null
cp deploy/nginx/court-circuit-proxy.conf "$WORK/nginx/snippets/"
sed -e "s#server 127.0.0.1:8001#server 127.0.0.1:$APP_A#" \
    -e "s#server 127.0.0.1:8002#server 127.0.0.1:$APP_B#" \
    -e "s#/etc/ssl/court-circuit/#$WORK/nginx/#" \
    -e "s#/srv/court-circuit/webapp/static/#$ROOT/webapp/static/#" \
    -e "s#/etc/nginx/snippets/#$WORK/nginx/snippets/#" \
    -e "s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS_PORT ssl http2;#" \
    -e "/listen \[::\]/d" \
    -e "s#listen 80;#listen 127.0.0.1:$(free_port);#" \
    deploy/nginx/court-circuit.conf >"$WORK/nginx/site.conf"
cat >"$WORK/nginx/nginx.conf" <<EOF
user $(id -un);
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    types { application/manifest+json webmanifest; }
    sendfile on;
    log_format upstream '\$remote_addr "\$request" \$status \$upstream_addr \$request_time \$upstream_response_time';
    access_log $WORK/nginx/access.log upstream;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    include $WORK/nginx/site.conf;
}
EOF
"$NGINX" -t -q -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
log "nginx on https://127.0.0.1:$HTTPS_PORT"

# --- the browser paths through nginx ------------------------------------------------------
export DEPLOY_URL="https://127.0.0.1:$HTTPS_PORT"
export DEPLOY_INSTANCES="http://127.0.0.1:$APP_A http://127.0.0.1:$APP_B"
export DEPLOY_ACCESS_LOG="$WORK/nginx/access.log"
export DEPLOY_CERT="$WORK/nginx/fullchain.pem"
export DEPLOY_APP_PIDS="${PIDS[0]} ${PIDS[1]}" DEPLOY_SENDER_PID="${PIDS[2]}"
if [ -n "${DEPLOY_RUN:-}" ]; then
    $DEPLOY_RUN   # `make bench-scale`: the load, through the same stack
else
    "$BIN/python" -m pytest -q -p no:randomly -p no:cacheprovider deploy/test_deploy.py "$@"
fi
log "passed"
