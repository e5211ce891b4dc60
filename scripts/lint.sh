#!/usr/bin/env bash
# make lint: ruff check, ruff format --check and mypy over the whole tree; runs all three, fails if any fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
rc=0
echo "--- ruff check"
"$BIN/ruff" check . || rc=1
echo "--- ruff format --check"
"$BIN/ruff" format --check . || rc=1
echo "--- mypy"
# explicit package bases: tests/<app>/conftest.py files share a basename and have no __init__.py
"$BIN/mypy" --explicit-package-bases . || rc=1
if [[ $rc != 0 ]]; then
    echo "lint: FAILED (see above)"
else
    echo "lint: ok"
fi
exit $rc
