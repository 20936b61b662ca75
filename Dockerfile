# Spectrum production image. Untested here: no container engine was available where it was written.
#
# Build: docker build -t spectrum .
# Migrations are a separate release step, run before starting the new version (never on container start,
# so several replicas cannot race each other):
#     docker compose run --rm web python manage.py migrate

# --- Stage 1: install the runtime dependencies into a virtualenv ----------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
# Only the runtime requirements: test and lint tools (requirements-dev.txt) stay out of the image.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt


# --- Stage 2: the runtime image -------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SPECTRUM_ENV=production \
    PATH="/opt/venv/bin:$PATH"

# A fixed uid, so volume permissions and Kubernetes runAsUser are predictable.
RUN groupadd --system --gid 10001 spectrum \
    && useradd --system --uid 10001 --gid spectrum --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin spectrum

# pg_dump and psql for backups and restores (Debian 12: PostgreSQL 15, as in docker-compose.yml; when the
# versions differ `backup` uses its Django method by itself). The backup directory is the app user's (a volume).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -m 700 -o spectrum -g spectrum /var/backups/spectrum \
    && install -d -m 700 -o spectrum -g spectrum /var/lib/spectrum/documents
ENV BACKUP_DIR=/var/backups/spectrum
# Uploaded documents (encrypted) when DOCUMENTS_STORAGE=local: a volume, like the backups.
ENV DOCUMENTS_ROOT=/var/lib/spectrum/documents

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Code and static files stay owned by root: the app user can read them but not change them.
# What is left out of the image (secrets, databases, tests, caches) is listed in .dockerignore.
COPY . .

# Production settings refuse to load without their secrets, so collectstatic gets throwaway build-only
# values on this line alone: they are not ENV of the image and nothing is stored with them.
# (The encryption key must merely be well-formed: 32 zero bytes, base64.)
RUN SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    SEARCH_HASH_KEY=build-only-not-a-secret \
    AUDIT_CHAIN_KEY=build-only-not-a-secret \
    ALLOWED_HOSTS=localhost \
    REDIS_URL=redis://build-only.invalid:6379/0 \
    python manage.py collectstatic --noinput

USER spectrum
EXPOSE 8000

# /health/ checks the database and the cache. The Host header is the first ALLOWED_HOSTS entry (else
# Django answers 400). http.client (stdlib, no curl in slim) never follows redirects, so a redirect to
# https://<public host>/ cannot be answered by some other server and pass as healthy. Plain HTTP on
# 127.0.0.1 needs /health/ exempted from SECURE_SSL_REDIRECT (SECURE_REDIRECT_EXEMPT in settings.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import http.client, os, sys; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); host = 'localhost' if host in ('', '*') else host; conn = http.client.HTTPConnection('127.0.0.1', int(os.environ.get('PORT') or 8000), timeout=4); conn.request('GET', '/health/', headers={'Host': host}); sys.exit(0 if conn.getresponse().status == 200 else 1)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "spectrum.wsgi:application"]
