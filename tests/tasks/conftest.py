import pytest


@pytest.fixture
def celery_app(app):
    celery_app = app.extensions["celery"]
    # shared_task resolves against the current app; another create_app() may have replaced it.
    celery_app.set_current()
    celery_app.set_default()
    return celery_app
