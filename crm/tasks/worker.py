"""Entry point for `celery -A crm.tasks.worker worker|beat`."""

from crm import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
