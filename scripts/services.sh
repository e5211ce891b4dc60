#!/usr/bin/env bash
# Throwaway PostgreSQL + Redis for the test suite (and for poking at by hand).
#
#   scripts/services.sh check            exit 0 when initdb/pg_ctl/redis-server are available,
#                                        otherwise print what is missing (one line each) and exit 1
#   scripts/services.sh start DIR        start both under DIR (created; owned by postgres when root),
#                                        on free ports; writes DIR/env with the export lines
#   scripts/services.sh stop DIR         stop both (idempotent) and remove DIR
#
# PostgreSQL refuses to run as root, so as root every PostgreSQL command runs through
# `runuser -u postgres --` and DIR is chowned to postgres. fsync and friends are off: this data is
# thrown away. Redis runs without persistence.
set -euo pipefail

find_pg_bin() {
    # $1 = program name. PATH first, then the Debian layout (newest major version wins).
    local prog=$1 candidate
    if candidate=$(command -v "$prog" 2>/dev/null); then
        echo "$candidate"
        return 0
    fi
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $candidate/$prog ]]; then
            echo "$candidate/$prog"
            return 0
        fi
    done
    return 1
}

free_port() {
    "${PYTHON:-python3}" - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

as_pg() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_check() {
    local missing=0
    find_pg_bin initdb >/dev/null || { echo "PostgreSQL: initdb not found (PATH or /usr/lib/postgresql/*/bin)"; missing=1; }
    find_pg_bin pg_ctl >/dev/null || { echo "PostgreSQL: pg_ctl not found (PATH or /usr/lib/postgresql/*/bin)"; missing=1; }
    if [[ $(id -u) == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        echo "PostgreSQL: running as root but there is no 'postgres' user to run the server as"
        missing=1
    fi
    command -v redis-server >/dev/null || { echo "Redis: redis-server not found on PATH"; missing=1; }
    return $missing
}

cmd_start() {
    local dir=$1 initdb pg_ctl pg_port redis_port
    initdb=$(find_pg_bin initdb)
    pg_ctl=$(find_pg_bin pg_ctl)
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [[ $(id -u) == 0 ]]; then
        chown postgres: "$dir"
    fi

    # --- PostgreSQL ---
    pg_port=$(free_port)
    if ! as_pg "$initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1; then
        echo "initdb failed:" >&2
        tail -n 30 "$dir/initdb.log" >&2
        return 1
    fi
    if ! as_pg "$pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 \
        -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
        start >/dev/null; then
        echo "PostgreSQL did not start:" >&2
        tail -n 30 "$dir/pg.log" >&2
        return 1
    fi
    echo "$pg_ctl" >"$dir/pg_ctl.path"

    # --- Redis ---
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    local i
    for i in $(seq 1 50); do
        if [[ -s $dir/redis.pid ]] && (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [[ ! -s $dir/redis.pid ]]; then
        echo "Redis did not start:" >&2
        tail -n 30 "$dir/redis.log" >&2 || true
        return 1
    fi

    # The database named here is never touched by pytest: pytest-django creates and drops
    # test_scorecard next to it.
    cat >"$dir/env" <<ENV
export DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres
export CELERY_BROKER_URL=redis://127.0.0.1:$redis_port/0
export CELERY_RESULT_BACKEND=redis://127.0.0.1:$redis_port/1
export REDIS_URL=redis://127.0.0.1:$redis_port/2
ENV
    echo "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port (state in $dir)"
}

cmd_stop() {
    local dir=$1
    [[ -d $dir ]] || return 0
    if [[ -f $dir/pg_ctl.path && -f $dir/data/postmaster.pid ]]; then
        as_pg "$(cat "$dir/pg_ctl.path")" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
    if [[ -s $dir/redis.pid ]]; then
        local pid
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$dir"
}

case ${1:-} in
    check) cmd_check ;;
    start) cmd_start "${2:?usage: $0 start DIR}" ;;
    stop) cmd_stop "${2:?usage: $0 stop DIR}" ;;
    *)
        echo "usage: $0 check | start DIR | stop DIR" >&2
        exit 2
        ;;
esac
