# Shared helpers of the benchmark scripts; sourced, not run.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BIN=${BIN:-target/release/sme-ledger}
PASSWORD=${BENCH_PASSWORD:-bench-seeded-passphrase}

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_postgres DIR: a PostgreSQL cluster in DIR (made there if missing, else started again)
# with durable settings (fsync, full page writes and synchronous commit all on, as in
# production). Sets PG_URL and PG_PORT.
start_postgres() {
    local dir=$1
    mkdir -p "$dir"
    chmod 0755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    PG_PORT=$(free_port)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
    fi
    # Later lines win: a restarted cluster takes the new port.
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 1GB
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop_postgres() {
    local dir=$1
    [ -d "$dir/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
}

# start_service URL DATADIR: the release binary serving URL on a free port, in the background.
# Sets SVC_PID and SVC (the base address); waits until it is ready.
start_service() {
    local url=$1 data=$2
    local port
    port=$(free_port)
    DATABASE_URL=$url SME_LEDGER_DATA_DIR=$data SME_LEDGER_BIND=127.0.0.1:$port \
        SME_LEDGER_ADMIN_EMAIL=admin@bench.invalid SME_LEDGER_ADMIN_PASSWORD=$PASSWORD \
        RUST_LOG=warn "$BIN" serve >"$data/service.log" 2>&1 &
    SVC_PID=$!
    SVC="http://127.0.0.1:$port"
    for _ in $(seq 1 200); do
        curl -fsS "$SVC/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$data/service.log" >&2
    return 1
}

stop_service() {
    [ -n "${SVC_PID:-}" ] && kill "$SVC_PID" 2>/dev/null && wait "$SVC_PID" 2>/dev/null || true
    SVC_PID=
}

# login EMAIL: prints an access token.
login() {
    curl -fsS -H 'content-type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" "$SVC/api/v1/auth/login" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# drain URL: serves the database until its outbox is empty (`outbox_waiting`, defined by the
# caller, counts what is still to send). Seeding queues the notices that the
# decisions and workshop days it makes would send; left there, the service would be writing
# them out (as .eml files) during the measurements.
drain() {
    local url=$1 data=$WORK/drain waiting
    rm -rf "$data" && mkdir -p "$data"
    start_service "$url" "$data"
    while waiting=$(outbox_waiting) && [ "$waiting" -gt 0 ]; do
        echo "   $waiting messages still to send before measuring" >&2
        sleep 5
    done
    stop_service
}
