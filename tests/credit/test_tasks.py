from datetime import date

from sqlalchemy import func, select, update

from crm.credit import ledger
from crm.credit.models import CheckRun, CreditBalance, CreditReview
from crm.extensions import db
from crm.governance.models import TaskRun
from crm.tasks import BEAT_SCHEDULE
from crm.tasks import credit as tasks


def test_nightly_check_runs_from_beat_and_reports_drifted_balances(credit_world):
    assert {e["task"] for e in BEAT_SCHEDULE.values()} >= {
        "crm.tasks.credit.nightly_check",
        "crm.tasks.credit.quarterly_reevaluation",
    }
    ledger.record_charge(db.session, credit_world.c1.id, "9000", date(2026, 11, 1), "B")
    db.session.commit()
    db.session.execute(update(CreditBalance).values(outstanding=9100))
    db.session.commit()
    result = tasks.nightly_check()
    assert result["over_90"] == 1
    run = db.session.get(TaskRun, "credit-nightly")
    assert run.result["balance_mismatches"] == [[credit_world.c1.id, "9100.00", "9000.00"]]
    assert db.session.scalars(select(CheckRun.status)).all() == ["done"]


def test_quarterly_task_is_idempotent(credit_world):
    made = tasks.quarterly_reevaluation()["proposals"]
    again = tasks.quarterly_reevaluation()["proposals"]
    count = db.session.scalar(select(func.count()).select_from(CreditReview))
    assert again == 0 and count == made


def test_credit_check_command(credit_world, app):
    ledger.record_charge(db.session, credit_world.c1.id, "8500", date(2026, 11, 1), "B")
    db.session.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["crm", "credit-check", "--client", credit_world.c1.code])
    assert out.exit_code == 0 and "'over_80': 1" in out.output
    out = runner.invoke(args=["crm", "credit-check", "--all"])
    assert out.exit_code == 0 and "'customers': 1" in out.output
    assert runner.invoke(args=["crm", "credit-check", "--client", "NOPE"]).exit_code != 0
