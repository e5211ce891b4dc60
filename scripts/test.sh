#!/usr/bin/env bash
# make test: lint, then two passes side by side (one core each): the suite on SQLite with eager Celery
# (+ browser tests), and the suite again (without the browser tests) on a throwaway PostgreSQL + Redis
# with a real Celery worker for `worker` tests. See README.md, "Tests".
#
# Environment:
#   SCORECARD_REQUIRE_SERVICES=1  a missing service, Chromium or data set fails the run (CI sets it)
#   SCORECARD_SERVICES=0          skip the PostgreSQL + Redis pass (reported as a skip)
#   SKIP_LINT=1                   skip ruff/mypy
#   PYTEST_ARGS="..."             extra pytest arguments for both passes (e.g. -x, -k name)
#   SCORECARD_CHROMIUM=/path      Chromium binary for browser tests (default /usr/bin/chromium)
#   SCORECARD_DATA_DIR=/path      the public data sets for `data` tests (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY=$VENV/bin/python
CHROMIUM=${SCORECARD_CHROMIUM:-/usr/bin/chromium}
DATA_DIR=${SCORECARD_DATA_DIR:-../shared/data}  # as scorecard/settings.py resolves it
REQUIRE=0
[[ ${SCORECARD_REQUIRE_SERVICES:-} =~ ^(1|true|yes|on)$ ]] && REQUIRE=1
read -r -a EXTRA <<<"${PYTEST_ARGS:-}"

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/scorecard-test.XXXXXX")
SVC_DIR=""
FAILED=0
SKIPS=()   # what was not tested, and why
ROWS=()    # step | status | seconds | detail
SUMMARIES=()

BACKGROUND=()
cleanup() {
    if ((${#BACKGROUND[@]})); then
        pkill -P "${BACKGROUND[0]}" 2>/dev/null || true
        kill "${BACKGROUND[@]}" 2>/dev/null || true
    fi
    if [[ -n $SVC_DIR ]]; then
        scripts/services.sh stop "$SVC_DIR" || true
    fi
    rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

banner() {
    local bar="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    printf '\n%s\n' "$bar"
    local line
    for line in "$@"; do printf '!!! %s\n' "$line"; done
    printf '%s\n\n' "$bar"
}

skip() {
    SKIPS+=("$1")
    if [[ $REQUIRE == 1 ]]; then
        banner "NOT TESTED: $1" "SCORECARD_REQUIRE_SERVICES=1: this fails the run."
        FAILED=1
    else
        banner "NOT TESTED: $1" "(set SCORECARD_REQUIRE_SERVICES=1 to make this a failure)"
    fi
}

# record_pass NAME RC SECONDS: the step's row and its pytest summary line (from $LOGDIR/NAME.log)
record_pass() {
    local name=$1 rc=$2 seconds=$3 log="$LOGDIR/$1.log" summary status
    summary=$(grep -E '(passed|failed|errors?|skipped|deselected|no tests ran).* in [0-9.]+s' "$log" | tail -n 1 || true)
    summary=${summary:-"(no pytest summary line; exit code $rc)"}
    case $rc in
        0) status=ok ;;
        5)
            status="FAILED (pytest collected no tests)"
            FAILED=1
            ;;
        *)
            status="FAILED (pytest exit $rc)"
            FAILED=1
            ;;
    esac
    ROWS+=("$name pass|$status|$seconds|")
    SUMMARIES+=("$name: $(sed -E 's/^=+ //; s/ =+$//' <<<"$summary")")
}

# split_args [env assignments...] -- pytest args...: fills ENVS (before `--`) and ARGS (after it)
split_args() {
    ENVS=()
    while [[ $1 != -- ]]; do
        ENVS+=("$1")
        shift
    done
    shift
    ARGS=("$@")
}

# run_pytest NAME [env assignments...] -- pytest args...   (in the foreground, output shown as it runs)
run_pytest() {
    local name=$1 start rc
    shift
    split_args "$@"
    echo
    echo "=== pytest: $name pass ==="
    start=$(now)
    set +e
    env "${ENVS[@]}" "$PY" -m pytest -rfEs --durations=15 "${ARGS[@]}" "${EXTRA[@]}" 2>&1 | tee "$LOGDIR/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
    record_pass "$name" "$rc" "$(since "$start")"
}

# start_pytest NAME [env assignments...] -- pytest args...   (in the background, output to its log;
# finish_pytest NAME waits for it and shows the log). The two passes run side by side: one core each.
start_pytest() {
    local name=$1
    shift
    split_args "$@"
    echo "=== pytest: $name pass started in the background (its output follows the other pass) ==="
    (
        start=$(now) rc=0
        env "${ENVS[@]}" "$PY" -m pytest -rfEs --durations=15 "${ARGS[@]}" "${EXTRA[@]}" >"$LOGDIR/$name.log" 2>&1 || rc=$?
        echo "$rc $(since "$start")" >"$LOGDIR/$name.rc"
    ) &
    BACKGROUND+=("$!")
}

finish_pytest() {
    local name=$1 rc seconds
    wait "${BACKGROUND[@]}" || true
    BACKGROUND=()
    echo
    echo "=== pytest: $name pass (ran in the background) ==="
    cat "$LOGDIR/$name.log"
    read -r rc seconds <"$LOGDIR/$name.rc" || { rc=1; seconds=0; }
    record_pass "$name" "$rc" "$seconds"
}

TOTAL_START=$(now)

# --- lint --------------------------------------------------------------------------------------------
if [[ ${SKIP_LINT:-0} == 1 ]]; then
    ROWS+=("lint|skipped (SKIP_LINT=1)|0|")
else
    start=$(now)
    if scripts/lint.sh; then
        ROWS+=("lint|ok|$(since "$start")|")
    else
        ROWS+=("lint|FAILED|$(since "$start")|")
        FAILED=1
    fi
fi

# --- the two passes, side by side ----------------------------------------------------------------
# PostgreSQL + Redis + a real Celery worker (everything but the browser tests) in the background;
# SQLite with eager Celery (+ browser tests) in the foreground. Each takes one of the two cores.
if [[ ! -x $CHROMIUM ]]; then
    skip "browser tests: Chromium not found at $CHROMIUM (apt-get install chromium)"
fi
if [[ ! -d $DATA_DIR ]]; then
    skip "data tests (public data sets): $DATA_DIR not found (set SCORECARD_DATA_DIR)"
fi
PG_RUNNING=0
if [[ ${SCORECARD_SERVICES:-1} == 0 ]]; then
    skip "PostgreSQL + Redis pass (postgres and worker tests): SCORECARD_SERVICES=0"
elif ! missing=$(scripts/services.sh check); then
    skip "PostgreSQL + Redis pass (postgres and worker tests): $(tr '\n' ';' <<<"$missing" | sed 's/;$//')"
else
    SVC_DIR=$(mktemp -d /tmp/scorecard-services.XXXXXX)
    start=$(now)
    if scripts/services.sh start "$SVC_DIR"; then
        ROWS+=("start PostgreSQL + Redis|ok|$(since "$start")|")
        # shellcheck disable=SC1091
        source "$SVC_DIR/env"
        start_pytest postgres \
            DATABASE_URL="$DATABASE_URL" CELERY_BROKER_URL="$CELERY_BROKER_URL" \
            CELERY_RESULT_BACKEND="$CELERY_RESULT_BACKEND" REDIS_URL="$REDIS_URL" \
            -- -m "not browser and not single_pass"
        PG_RUNNING=1
    else
        banner "PostgreSQL/Redis were found but did not start (see above): postgres and worker tests NOT RUN"
        ROWS+=("start PostgreSQL + Redis|FAILED|$(since "$start")|")
        SKIPS+=("PostgreSQL + Redis pass: the services did not start")
        FAILED=1
    fi
fi

run_pytest sqlite \
    -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND -u REDIS_URL \
    DJANGO_ALLOW_ASYNC_UNSAFE=true \
    -- -m "not postgres and not worker"

if [[ $PG_RUNNING == 1 ]]; then
    finish_pytest postgres
fi
if [[ -n $SVC_DIR ]]; then
    start=$(now)
    scripts/services.sh stop "$SVC_DIR" || true
    SVC_DIR=""
    ROWS+=("stop PostgreSQL + Redis|ok|$(since "$start")|")
fi

# --- summary -----------------------------------------------------------------------------------------
echo
echo "=== make test summary ($(since "$TOTAL_START")s in all) ==="
for row in "${ROWS[@]}"; do
    IFS='|' read -r step status seconds _ <<<"$row"
    printf '  %-26s %-40s %6ss\n' "$step" "$status" "$seconds"
done
if ((${#SKIPS[@]})); then
    echo "  NOT TESTED in this run:"
    for s in "${SKIPS[@]}"; do echo "    - $s"; done
fi
if [[ $FAILED != 0 ]]; then
    echo "make test: FAILED"
else
    echo "make test: ok"
fi
# The closing lines are the pytest summaries and their total, for whoever reads the end of the log.
passed=0 failed=0 skipped=0
for s in "${SUMMARIES[@]}"; do
    echo "$s"
    for kind in passed failed skipped error errors; do
        n=$(grep -oE "[0-9]+ $kind\b" <<<"$s" | head -n 1 | cut -d' ' -f1 || true)
        n=${n:-0}
        case $kind in
            passed) passed=$((passed + n)) ;;
            skipped) skipped=$((skipped + n)) ;;
            *) failed=$((failed + n)) ;;
        esac
    done
done
echo "total: $passed passed, $failed failed, $skipped skipped"
exit "$FAILED"
