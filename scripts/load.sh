#!/usr/bin/env bash
# Load test, end to end, on throwaway services:
#
#   scripts/load.sh [DEALS] [MINUTES]        default 100000 deals, 3 minutes
#
# Starts PostgreSQL + Redis (scripts/services.sh), builds the realistic benchmark organisation with
# DEALS deals and its load users (bench_load_setup: managers and reps with passwords), starts gunicorn
# (WEB_WORKERS, default 4), a Celery worker and the recompute worker of shard 0 (as docker-compose does),
# runs the locust scenario (loadtest/locustfile.py)
# headless with USERS (default 50) concurrent users for MINUTES, and meanwhile an import of
# IMPORT_ROWS opportunities (half of them existing deals with new amounts, half new deals) and a full
# recompute. Then prints the table (requests, failures, p50 / p95 / max per page), waits for the
# worker to finish and checks that the stored rollups equal a fresh recompute (rollups_check).
# Everything it started is stopped at the end, also on failure or Ctrl-C. Exit status: non-zero when
# a request failed, the import or recompute failed, or the rollups differ.
#
# Needs the `load` extra (pip install -e '.[load]': locust) and gunicorn in the virtualenv (PYTHON,
# default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEALS=${1:-100000}
MINUTES=${2:-3}
USERS=${USERS:-50}
WEB_WORKERS=${WEB_WORKERS:-4}
IMPORT_ROWS=${IMPORT_ROWS:-4000}
PY=${PYTHON:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PY")
DIR=$(mktemp -d /tmp/scorecard-load.XXXXXX)
chmod 755 "$DIR"  # the PostgreSQL server runs as postgres under it
PIDS=()

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    bash scripts/services.sh stop "$DIR/svc" >/dev/null 2>&1 || true
    echo "logs: $DIR"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s  (%s, load average %s)\n' "$1" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
manage() { "$PY" manage.py "$@"; }

step "services"
PYTHON=$PY bash scripts/services.sh start "$DIR/svc"
# shellcheck disable=SC1091
source "$DIR/svc/env"
export DJANGO_SETTINGS_MODULE=scorecard.settings DEBUG=0
export SECRET_KEY="load-test-only-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# STATIC_ROOT may point at files collected before (compressing them takes a minute or more)
export ALLOWED_HOSTS=127.0.0.1,localhost STATIC_ROOT=${STATIC_ROOT:-$DIR/static}
export SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 SECURE_HSTS_SECONDS=0  # plain HTTP on the loopback
export CELERY_QUEUE=load-$$ SCORECARD_REQUIRE_2FA=0

step "migrate, collectstatic"
manage migrate -v0
[[ -f $STATIC_ROOT/staticfiles.json ]] || manage collectstatic --noinput -v0

step "organisation with $DEALS deals and the load users"
time manage bench_load_setup --deals "$DEALS" --users-file "$DIR/users.json"
ORG=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['org'])" "$DIR/users.json")

step "import file ($IMPORT_ROWS rows)"
manage export_opportunities --org "$ORG" "$DIR/all.csv"
"$PY" - "$DIR/all.csv" "$DIR/import.csv" "$IMPORT_ROWS" <<'PY'
import csv, sys
from decimal import Decimal
source, target, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source, newline="") as f:
    reader = csv.DictReader(f)
    fields = reader.fieldnames
    # Won and lost deals: the importer refuses an open deal with a close date (which the deal form and
    # the export allow: an expected close), so the export of open deals does not import again.
    closed = (row for row in reader if row["stage"] in ("won", "lost"))
    picked = [row for _, row in zip(range(rows), closed)]
half = len(picked) // 2
for i, row in enumerate(picked):
    if i < half:  # an existing deal with a new amount
        row["amount"] = str(Decimal(row["amount"] or "0") + 100)
    else:  # a new deal like it
        row["opportunity_id"] = f"LOAD{i:07d}"
with open(target, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(picked)
PY

step "gunicorn ($WEB_WORKERS workers), a Celery worker and the recompute worker (shard 0), as in docker-compose"
PORT=$("$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$BIN/gunicorn" scorecard.wsgi:application -w "$WEB_WORKERS" -b "127.0.0.1:$PORT" \
    --error-logfile "$DIR/gunicorn.log" --timeout 120 >"$DIR/gunicorn.out" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A scorecard worker --pool=solo --concurrency=1 -Q "$CELERY_QUEUE" -n "load-$$@%h" \
    --without-gossip --without-mingle -l info >"$DIR/worker.log" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A scorecard worker --pool=solo --concurrency=1 -Q recompute-0 -n "load-recompute-$$@%h" \
    --without-gossip --without-mingle -l info >"$DIR/recompute-worker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null

step "locust: $USERS users for $MINUTES min"
LOAD_USERS=$DIR/users.json "$BIN/locust" -f loadtest/locustfile.py --headless -u "$USERS" -r 5 \
    -t "${MINUTES}m" --host "http://127.0.0.1:$PORT" --csv "$DIR/locust" --only-summary \
    >"$DIR/locust.log" 2>&1 &
LOCUST=$!
PIDS+=($LOCUST)
rc=0
QUARTER=$((MINUTES * 15))
sleep "$QUARTER"
step "import during the load"
time manage import_opportunities "$DIR/import.csv" --org "$ORG" || rc=1
sleep "$QUARTER"
step "full recompute during the load"
time manage recompute --org "$ORG" || rc=1
wait "$LOCUST" || rc=1

step "results"
"$PY" - "$DIR/locust_stats.csv" <<'PY'
import csv, sys
print(f"{'page':<16}{'requests':>9}{'failures':>9}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'req/s':>7}")
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        print(
            f"{row['Name'][:16]:<16}{row['Request Count']:>9}{row['Failure Count']:>9}{row['50%']:>8}"
            f"{row['95%']:>8}{float(row['Max Response Time']):>8.0f}{float(row['Requests/s']):>7.1f}"
        )
PY
if [[ -s $DIR/locust_failures.csv ]] && [[ $(wc -l <"$DIR/locust_failures.csv") -gt 1 ]]; then
    echo "failures:"
    cat "$DIR/locust_failures.csv"
fi

step "stored rollups against a fresh recompute"
manage rollups_check --org "$ORG" --wait 900 || rc=1
step "done (exit $rc)"
exit $rc
