# golive: the bot and its web sidecar in one image.
FROM node:20-bookworm-slim AS web-assets
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
COPY web/scripts ./scripts
RUN npm ci --no-audit --no-fund && npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GOLIVE_WEB_HOST=0.0.0.0 GOLIVE_DATABASE=/data/golive.db
WORKDIR /app
# The exact versions of requirements.lock first (a layer that only changes with the lock), then
# golive itself without resolving anything again: builds are reproducible.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md config.toml ./
COPY bot ./bot
COPY cogs ./cogs
COPY core ./core
COPY web ./web
COPY golive ./golive
COPY --from=web-assets /src/web/static/vendor ./web/static/vendor
# Then the brotli and gzip copies of the static files, into the installed package (web/build/),
# where the app reads them at start (-P: the installed web package, not the one in /app).
# /thumbnails: LiveKit's egress (another user) writes snapshots there and golive deletes them.
RUN pip install --no-cache-dir --no-deps . && python -P -m web.assets build \
    && useradd --system --home /app golive \
    && mkdir /data /thumbnails && chown golive /data /thumbnails && chmod 0777 /thumbnails
USER golive
VOLUME /data
EXPOSE 8080
# SIGTERM (docker stop) shuts golive down gracefully within web.shutdown_grace_seconds.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["golive", "run"]
