# syntax=docker/dockerfile:1
# One image for every process: `web` (default), `worker`, `cron`, `migrate`, `seed-demo`.
#   docker build -t coord .
#   docker run --env-file .env coord migrate && docker run --env-file .env -p 8000:8000 coord web

# --- builder: the dependencies, in a venv that the runtime stage copies ------------------------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Only the lock file, so that this layer is rebuilt when the dependencies change, not the code.
# requirements/runtime.txt pins every runtime dependency with its hashes (`make lock`). The app
# itself runs from /app (wsgi.py and migrations/ live beside the package), so the dependencies
# are installed, not the coord package.
COPY requirements/runtime.txt ./requirements.txt
RUN pip wheel --wheel-dir /wheels -r requirements.txt \
 && pip install --no-index --find-links /wheels -r requirements.txt

# --- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COORD_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system coord \
 && useradd --system --gid coord --home-dir /app --no-create-home --shell /usr/sbin/nologin coord
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY . .
# Code stays owned by root (read-only for the app); instance/ is where a SQLite file would go.
RUN python -m compileall -q coord workers config wsgi.py \
 && pybabel compile -d coord/translations \
 && mkdir -p instance && chown coord:coord instance
USER coord
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["web"]
