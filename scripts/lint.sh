#!/usr/bin/env bash
# make lint: ruff check, ruff format --check, mypy over the whole tree, then the import contracts
# (lint-imports, config in pyproject.toml [tool.importlinter]); runs all four, fails if any fails.
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
echo "--- lint-imports"
# The apps must resolve to this checkout, not to another one the venv has an editable install of:
# the repository root goes first on the path (lint-imports also adds the cwd, this makes it explicit).
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$BIN/lint-imports" --no-cache --no-logo || rc=1
if [[ $rc != 0 ]]; then
    echo "lint: FAILED (see above)"
else
    echo "lint: ok"
fi
exit $rc
