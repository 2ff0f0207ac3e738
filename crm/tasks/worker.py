"""Entry point for `celery -A crm.tasks.worker worker|beat`.

One machine: `celery -A crm.tasks.worker worker` takes all three queues. Several machines: a
worker per queue, `-Q interactive`, `-Q sweeps`, `-Q mail` (crm/tasks/__init__.py, README
"Several machines"); beat may run on two machines, only the one holding its Redis lock sends."""

from crm import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
