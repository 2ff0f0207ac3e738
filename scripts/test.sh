#!/usr/bin/env bash
# The one command to set up and run the tests: ./scripts/test.sh [pytest arguments]
# SQLite by default; set CRM_DATABASE_URL (PostgreSQL) and CRM_BROKER_URL (Redis) to run the
# same suite against the production services. Browser tests skip without /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv …"
    "$PYTHON" -m venv .venv
fi
# The exact versions of requirements-dev.lock (with their hashes), then the project itself.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .

exec .venv/bin/pytest "$@"
