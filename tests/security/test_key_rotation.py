"""Issue 13.1: the field key rotates. CRM_FIELD_ENCRYPTION_KEY lists Fernet keys newest first:
the newest encrypts, the old ones still decrypt, and `crm rotate-field-key` re-encrypts every
stored ID number, chunk by chunk, so that the old key can be dropped."""

from datetime import date

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from crm import crypto
from crm.audit import AuditEvent
from crm.clients.models import Client
from crm.clients.services import delete_client, reveal_id_number
from crm.extensions import db
from tests import factories

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def old_key_data(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", OLD)
    numbers = [factories.valid_id_number(date(1980 + n, 3, 4), 100 + n) for n in range(5)]
    clients = [
        factories.create_client(world.am1, kind="individual", credit_code=None, id_number=number)
        for number in numbers
    ]
    delete_client(db.session, clients[-1], "测试：回收站里的客户也要换钥匙")  # in the recycle bin
    db.session.commit()
    return dict(zip([c.id for c in clients], numbers, strict=True))


def stored() -> dict[int, tuple[str, int]]:
    table = Client.__table__
    db.session.expire_all()
    return {
        row.id: (row.id_number_enc, row.version)
        for row in db.session.execute(
            select(table.c.id, table.c.id_number_enc, table.c.version).where(
                table.c.id_number_enc.is_not(None)
            )
        )
    }


def readable_with(app, monkeypatch, key) -> dict[int, str | None]:
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", key)
    return {i: crypto.decrypt(token) for i, (token, _) in stored().items()}


def rotate(app, *args):
    return app.test_cli_runner().invoke(args=["crm", "rotate-field-key", *args])


def test_new_key_first_encrypts_and_the_old_key_still_reads(app, world, old_key_data, monkeypatch):
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", f"{NEW}, {OLD}")
    for client_id, number in old_key_data.items():
        client = db.session.execute(
            select(Client).where(Client.id == client_id).execution_options(crm_include_deleted=True)
        ).scalar_one()
        assert reveal_id_number(client) == number
    fresh = factories.create_client(
        world.am1, kind="individual", credit_code=None, id_number=factories.valid_id_number(seq=321)
    )
    assert Fernet(NEW).decrypt(fresh.id_number_enc.encode()).decode() == factories.valid_id_number(
        seq=321
    )


def test_rotate_field_key_re_encrypts_everything_in_chunks(app, old_key_data, monkeypatch):
    before = stored()
    assert readable_with(app, monkeypatch, OLD) == old_key_data

    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", f"{NEW},{OLD}")
    result = rotate(app, "--chunk-size", "2")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 5, already on the newest key 0" in result.output
    assert result.output.count("re-encrypted with the newest key") == 3  # 2 + 2 + 1

    after = stored()
    assert all(after[i][0] != before[i][0] for i in before)
    assert all(after[i][1] == before[i][1] for i in before)  # no version bump: not an edit
    # The old key alone reads nothing any more; the new one alone reads everything.
    assert set(readable_with(app, monkeypatch, OLD).values()) == {None}
    assert readable_with(app, monkeypatch, NEW) == old_key_data

    # Audited, one event a committed chunk.
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "rotate_field_key").order_by(AuditEvent.id)
    ).all()
    assert [e.changes["id_number_enc"]["re-encrypted"] for e in events] == [2, 2, 1]
    assert {e.actor_label for e in events} == {"system"}

    # Idempotent: a second run finds nothing to do and changes nothing.
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", f"{NEW},{OLD}")
    again = rotate(app)
    assert "re-encrypted 0, already on the newest key 5" in again.output
    assert stored() == after


def test_a_value_no_key_reads_is_reported_and_left_alone(app, old_key_data, monkeypatch):
    before = stored()
    monkeypatch.setitem(app.config, "FIELD_ENCRYPTION_KEY", NEW)  # the old key was lost
    result = rotate(app)
    assert result.exit_code == 1
    assert "unreadable with every key 5" in result.output
    assert stored() == before
