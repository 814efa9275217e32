"""Gunicorn in production: the project's gunicorn.conf.py (preload, gc settings) plus what a
host behind nginx needs. `gunicorn -c deploy/gunicorn.conf.py 'webapp:create_app()'`.

Settings come from the environment (see deploy/court-circuit.env.example):
BIND (127.0.0.1:8001), WEB_CONCURRENCY (workers: 2 x cores is the usual start; each
sync worker holds one database connection, so workers x instances stays under PostgreSQL's
max_connections), GUNICORN_TIMEOUT (60 s: the sign-in PDF is the longest request).
"""

import os
from pathlib import Path

# The base settings (bind, workers, preload_app, pre_fork/post_fork hooks).
exec((Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text())  # noqa: S102

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# nginx keeps connections to the upstream open (keepalive 32): do not close them early.
keepalive = 75
# A worker is replaced after this many requests (with jitter, not all at once): a slow
# leak in a library never grows for weeks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Only nginx talks to gunicorn; the app itself reads X-Forwarded-* (TRUSTED_PROXIES=1).
forwarded_allow_ips = "127.0.0.1"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "court-circuit"
