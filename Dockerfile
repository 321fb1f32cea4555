# sme-ledger in a container: `docker build -t sme-ledger .`, then
# `docker run -p 8080:8080 -v sme-ledger-data:/data sme-ledger`.
# The first admin's one-time password is printed once in the logs (`docker logs`).

FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
# SQLite and libpq are compiled in (bundled); building libpq needs a C toolchain and perl.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential perl pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock build.rs diesel.toml ./
COPY migrations migrations
COPY src src
COPY templates templates
COPY static static
RUN cargo build --release --locked && strip target/release/sme-ledger

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin sme-ledger \
    && mkdir -p /data && chown sme-ledger:sme-ledger /data && chmod 700 /data
COPY --from=build /src/target/release/sme-ledger /usr/local/bin/sme-ledger
USER sme-ledger
ENV SME_LEDGER_DATA_DIR=/data \
    SME_LEDGER_BIND=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM stops gracefully (requests in flight finish within SME_LEDGER_SHUTDOWN_TIMEOUT_SECS).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD curl --fail --silent --show-error http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/sme-ledger"]
CMD ["serve"]
