#!/usr/bin/env bash
# The one command to run the CRM on a fresh machine: only Python 3.11+ is needed. It keeps
# everything (SQLite database, Celery broker and results) under ./instance, so no PostgreSQL or
# Redis has to run. Ctrl-C stops the web app, the worker and beat together.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-5000}"
PYTHON="${PYTHON:-python3}"
export CRM_INSTANCE_DIR="${CRM_INSTANCE_DIR:-$PWD/instance}"
# The embedded demo: the app makes its keys once into $CRM_INSTANCE_DIR/demo-keys.env (mode 600,
# never in the repo) and reads them back in every process started below (the web app, the
# worker, beat) and on every later run; cookies go over plain http to 127.0.0.1.
# Never set CRM_DEMO outside this script: production takes its keys from the environment.
export CRM_DEMO=1

if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv …"
    "$PYTHON" -m venv .venv
fi
echo "Installing the CRM into .venv …"
# The exact versions of requirements.lock (with their hashes), then the project itself.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .

mkdir -p "$CRM_INSTANCE_DIR"
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi crm seed-demo

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "Stopping …"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# --pool=solo: one task at a time in the worker's own process, the safe choice with SQLite.
.venv/bin/celery -A crm.tasks.worker worker --pool=solo --loglevel=INFO \
    >"$CRM_INSTANCE_DIR/worker.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A crm.tasks.worker beat --loglevel=INFO \
    >"$CRM_INSTANCE_DIR/beat.log" 2>&1 &
pids+=($!)
.venv/bin/flask --app wsgi run --host 127.0.0.1 --port "$PORT" &
pids+=($!)

cat <<INFO

客户档案 CRM is running at http://127.0.0.1:$PORT/
Worker and beat log to $CRM_INSTANCE_DIR/worker.log and beat.log. Press Ctrl-C to stop.
The demo's keys are in $CRM_INSTANCE_DIR/demo-keys.env (made on the first run).

Demo sign-ins (password for all: demo-pass-2026)
  gm          总经理      every customer
  sales_mgr   销售部经理  every customer
  rm_east     大区经理    customers of 华东大区 (rm_north: 华北大区)
  am_east1    客户经理    own customers only (also am_east2, am_north1, am_north2)
  finance     财务        basic card of every customer (also clerk 销售内勤, service 客服)
  admin       系统管理员  users, regions and settings

INFO

# Whichever of the three ends first (or Ctrl-C) stops the others.
wait -n
