# The one image of event-analytics: ingest-api, graphql-api, worker and analytics-admin, the
# dashboard's production build (served by graphql-api at /) and the SQL migrations. Which process
# a container runs is chosen when it starts, by SERVICE=ingest-api|graphql-api|worker|
# analytics-admin (deploy/docker/entrypoint.sh; anything else exits 64 naming the choices), or by
# a command (`docker run IMAGE analytics-admin migrate`). One build serves Railway, Render,
# docker-compose.yml and a plain `docker run` (docs/DEPLOY.md): the services share every
# library and the build stage, so there is one thing to build, cache and keep in step.
#
#   docker build -t event-analytics .          (context: the repository root)
#   docker run -e SERVICE=ingest-api -e DATABASE_URL=... -p 3001:3001 event-analytics
#
# Docker does not run on this project's machines: this file is checked statically by
# tests/integration/compose.test.sh (stages, COPY sources, runtime user) and deploy.test.sh, and
# the entry script is run there against the built binaries. The build and web stages' commands
# were run by hand on a copy of the context (tracked files, .dockerignore applied) on Debian 12;
# the image itself has not been built.

# ---- build: the four binaries, with Debian's -dev packages (scripts/deps.sh's list) and CMake ----
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libh2o-evloop-dev libwslay-dev librdkafka-dev libhiredis-dev libjansson-dev libssl-dev \
      libcurl4-openssl-dev libcrypt-dev libpq-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# A separate build dir: a developer's build/ (left out by .dockerignore anyway) has a foreign
# CMakeCache.
RUN cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /tmp/build -j"$(nproc)" --target ingest-api graphql-api worker analytics-admin \
 && for b in ingest-api graphql-api worker analytics-admin; do \
        install -D -m 0755 "/tmp/build/bin/$b" "/out/$b" || exit 1; \
    done

# ---- dashboard: the production build of web/ (what scripts/web-build.sh runs) ------------------
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/ ./
RUN npm ci --no-audit --no-fund && npm run build

# ---- runtime: shared libraries only, curl for the health check, a non-root user ----------------
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libh2o-evloop0.13 libwslay1 librdkafka1 libhiredis0.14 libjansson4 libssl3 libcurl4 \
      libpq5 zlib1g ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin analytics
COPY --from=build /out/ingest-api /out/graphql-api /out/worker /out/analytics-admin /usr/local/bin/
COPY deploy/docker/entrypoint.sh /usr/local/bin/ea-entrypoint
# analytics-admin and the migrations are in the same image so a platform's pre-deploy / release
# step can run `analytics-admin migrate` with it (docs/DEPLOY.md, "Migrations on deploy").
COPY db/migrations /usr/share/event-analytics/migrations
COPY --from=web /src/web/dist /usr/share/event-analytics/web
USER analytics
# In a container each service must listen on every interface (the defaults are loopback for a
# developer's machine); the environment still wins.
ENV INGEST_PORT=3001 INGEST_HOST=0.0.0.0 \
    GRAPHQL_PORT=3002 GRAPHQL_HOST=0.0.0.0 \
    WORKER_PORT=3003 WORKER_HOST=0.0.0.0 \
    LOG_LEVEL=info \
    MIGRATIONS_DIR=/usr/share/event-analytics/migrations \
    WEB_DIST_DIR=/usr/share/event-analytics/web
EXPOSE 3001 3002 3003
# /healthz of the port SERVICE listens on (nothing to check for a one-off analytics-admin)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ea-entrypoint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ea-entrypoint"]
