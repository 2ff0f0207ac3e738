"""A worker killed between the send and the commit that records it sends no second message:
the row is left for a person to decide (the administrator's list, "retry")."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta

from sqlalchemy import update

from crm.extensions import db
from crm.notifications.models import RobotMessage
from crm.notifications.services import notify, send_outbox
from crm.timeutil import utcnow
from tests.conftest import DATABASE_URL
from tests.notifications.conftest import add_robot

WORKER = textwrap.dedent("""
    import sys
    from crm import create_app
    from crm.extensions import db
    from crm.notifications.delivery import send_outbox
    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "BASE_URL": sys.argv[2],
                      "ROBOT_TIMEOUT": 30})
    with app.app_context():
        send_outbox(db.session)
    print("finished")
""")


def test_a_worker_killed_after_sending_sends_nothing_twice(
    world, webhooks, app, tmp_path, login_as
):
    _r, path = add_robot(webhooks, ["archive_flag"])
    notify(
        db.session, [world.archivist], "archive-flag:9", "archive_flag", "档案完整性：文件被改动"
    )
    db.session.commit()  # and no read until the worker is done (SQLite locks the file)
    # tests/conftest.py put the suite's keys in the environment: the worker reads the same.
    env = {**os.environ, "CRM_INSTANCE_DIR": str(tmp_path), "CRM_DATABASE_URL": DATABASE_URL}
    # The robot has the message; the worker dies before it hears back, let alone commits.
    webhooks.on_request = lambda: os.kill(worker.pid, signal.SIGKILL)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, DATABASE_URL, webhooks.url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert b"finished" not in out
    webhooks.on_request = None
    assert len(webhooks.bodies(path)) == 1
    message = db.session.scalars(db.select(RobotMessage)).one()
    assert message.status == "sending"

    send_outbox(db.session)  # within the lease: left alone
    db.session.execute(update(RobotMessage).values(claimed_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    for _ in range(3):  # the lease is over: nobody knows whether it arrived; never resent
        send_outbox(db.session)
    db.session.refresh(message)
    assert message.status == "unknown" and len(webhooks.bodies(path)) == 1
    page = login_as(world.admin).get("/admin/undelivered_robot/").get_data(as_text=True)
    assert "工作进程中断" in page  # "unknown: the worker stopped while sending"

    login_as(world.admin).post(
        "/admin/undelivered_robot/action/", data={"action": "retry", "rowid": [str(message.id)]}
    )
    send_outbox(db.session)  # a person decided: sent again, once
    db.session.refresh(message)
    assert message.status == "sent" and len(webhooks.bodies(path)) == 2
