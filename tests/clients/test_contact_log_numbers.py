"""R16: each contact of a customer gets the next number of its log, also when several staff
record contacts of the same customer at the same moment (crm bench load found two requests
reading the same last number: a 500 on the unique (client, seq))."""

import threading
from datetime import date

import pytest
from sqlalchemy import select

from crm.clients.models import ContactLog
from crm.clients.services import add_contact_log
from crm.extensions import db
from tests.conftest import IS_POSTGRES


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite has one writer; nothing to race")
def test_contacts_recorded_at_once_get_consecutive_numbers(world, app):
    client_id = world.c1.id  # fixtures belong to this thread's session
    before = len(
        db.session.scalars(select(ContactLog.id).where(ContactLog.client_id == client_id)).all()
    )
    threads_n, each = 6, 3
    barrier, failures = threading.Barrier(threads_n), []

    def record(n):
        with app.app_context():
            try:
                for k in range(each):
                    if k == 0:
                        barrier.wait(10)
                    add_contact_log(
                        db.session,
                        ContactLog(
                            client_id=client_id,
                            contact_date=date(2026, 11, 30),
                            way="visit",
                            person_met="张总",
                            record=f"第{n}-{k}次",
                        ),
                    )
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 — the test reports what went wrong
                db.session.rollback()
                failures.append(repr(exc)[:200])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=record, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    numbers = db.session.scalars(
        select(ContactLog.seq).where(ContactLog.client_id == client_id).order_by(ContactLog.seq)
    ).all()
    assert numbers == list(range(1, before + threads_n * each + 1))
