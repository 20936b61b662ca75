"""Gunicorn settings for Spectrum: `gunicorn -c gunicorn.conf.py spectrum.wsgi:application`.

Tuned by environment variables (all optional): PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_MAX_REQUESTS,
FORWARDED_ALLOW_IPS, LOG_LEVEL, PROMETHEUS_MULTIPROC_DIR. See .env.example.
"""

import os
import tempfile
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    # An empty value (e.g. `WEB_CONCURRENCY=` in .env) means "use the default", as in settings.py.
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# All interfaces: inside a container the port is only reachable where Docker publishes it.
bind = f"0.0.0.0:{_env_int('PORT', 8000)}"

# 2 x cores + 1 is gunicorn's rule of thumb; capped because os.cpu_count() sees the host's cores, not the
# container's CPU limit, and every worker x thread holds its own database connection (CONN_MAX_AGE=60).
workers = _env_int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8))

# One request at a time per worker, and requests wait for the first free worker in arrival order, in the
# listening socket's queue:
# - one thread per worker: a request never waits for its own process's GIL behind another request's Python
#   (with 4 threads it did, holding the audit chain's lock meanwhile, on which other requests then queued);
# - a worker accepts a connection only while it is free (worker_connections = threads) and closes it after
#   the response (no keep-alive: an idle kept-alive connection would hold the worker's only thread), so no
#   request queues inside a busy worker while another worker is idle.
# Under load (bench/load_search.py and load_calendar.py: 16 connections, two cores) this took p99/p50 from
# 1.9-3.5, once 5.9, with 5 workers x 4 threads to 1.3-1.9, at about the same throughput (README,
# Performance). The proxy in front opens a connection per request: cheap on loopback or a LAN.
# gthread rather than sync: its main thread keeps telling the master it is alive while a long download
# streams (a year of a large clinic's appointments takes about a minute), which the sync worker's timeout
# would cut off.
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 1)
worker_connections = threads
keepalive = 0

# A worker whose main loop has not checked in for 30 s is stuck: kill it rather than hold its slot forever.
timeout = 30
# On restart or deploy, give in-flight requests the same 30 s to finish.
graceful_timeout = 30

# No worker recycling by default. A recycled worker imports the whole app again (preload_app is off) on
# the cores the other workers are serving from, and answers its first requests slowly: with recycling every
# ~1000 requests, search under load had a p99 of 0.5-1.4 s against a p50 of ~90 ms (bench/load_search.py).
# Memory stays flat without it (RSS per worker is printed by that benchmark). If a leak ever appears, set
# GUNICORN_MAX_REQUESTS high (e.g. 100000: hours per worker, so the stall is rare) until it is fixed;
# the jitter (a tenth) keeps workers from restarting at the same moment.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# Off: each worker imports the app and opens its own database and Redis connections after the fork,
# so no socket is shared between processes, and a HUP reload picks up new code.
preload_app = False

# Only these addresses may set X-Forwarded-Proto & co. When the proxy is trusted here, gunicorn itself
# marks its requests as https (Django's request.is_secure()), even with SECURE_PROXY_SSL_HEADER off.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"

# No runtime control socket (gunicorn >= 25): nothing uses it, and the image's user has no home to put it in.
control_socket_disable = True

# The heartbeat file is touched constantly; on a disk-backed container filesystem that can stall workers.
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"

# --- Prometheus metrics (/metrics) across workers ---------------------------------------------------
# Each worker counts its own requests; prometheus_client adds the workers up from files in this directory,
# which belongs to this server alone (two servers on one host need two directories). Set before the
# workers start, so they run prometheus_client in multiprocess mode; emptied at start.
_shared_memory = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
_default_metrics_dir = _shared_memory / f"spectrum-metrics-{_env_int('PORT', 8000)}"
metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip() or _default_metrics_dir)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def on_starting(server):
    metrics_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):  # only prometheus_client's own files
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(metrics_dir))


# --- Logging: no PHI. -----------------------------------------------------------------------------
# Access log to stdout, error log to stderr (the container runtime collects both).
accesslog = "-"
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL", "").strip() or "info").lower()
# Path only (%(U)s), never the request line (%(r)s) or query string (%(q)s): search terms in query strings
# can be patient names. No referrer (it carries the previous page's query string) and no client address
# or user agent, matching the app's own request logs: time, request id, method, path, status, size, duration.
access_log_format = "%(t)s %({x-request-id}o)s %(m)s %(U)s %(s)s %(B)s %(M)sms"
