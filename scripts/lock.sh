#!/usr/bin/env bash
# Re-make the lock files from pyproject.toml: requirements.lock (the app, and gunicorn for
# production) and requirements-dev.lock (plus the test tools), exact versions with their hashes,
# for Python 3.11+ on any platform. Existing pins are kept unless asked otherwise:
#   ./scripts/lock.sh                               after changing pyproject.toml's dependencies
#   ./scripts/lock.sh --upgrade-package sqlalchemy  one package to its newest allowed version
#   ./scripts/lock.sh --upgrade                     everything to its newest allowed version
# Then run ./scripts/test.sh (on both databases) and commit pyproject.toml and both locks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TOOLS="${CRM_LOCK_TOOLS:-${TMPDIR:-/tmp}/crm-lock-tools}"  # uv, outside the project's .venv
if [ ! -x "$TOOLS/bin/uv" ]; then
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.13.8,<0.14"
fi
export UV_CUSTOM_COMPILE_COMMAND="./scripts/lock.sh"
common=(--universal --python-version 3.11 --generate-hashes --quiet "$@")
"$TOOLS/bin/uv" pip compile pyproject.toml --extra prod "${common[@]}" -o requirements.lock
"$TOOLS/bin/uv" pip compile pyproject.toml --extra dev "${common[@]}" -o requirements-dev.lock
echo "requirements.lock and requirements-dev.lock written"
