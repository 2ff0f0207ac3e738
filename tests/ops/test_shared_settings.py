"""Settings changed on one machine are seen by the others without a restart (issue 17 point 5):
`get_setting` reads the database each time; no process keeps a copy. Guarded here, so that a
cache added later must be one every machine sees (a version row or a key in Redis)."""

from sqlalchemy import insert, update

from crm.extensions import db
from crm.settings import Setting, get_setting


def test_a_setting_written_by_another_machine_is_read_at_once(ctx):
    assert get_setting("archive_integrity_share") == 15  # the default, read once here
    # Another machine's write: its own connection and transaction, nothing this process saw.
    with db.engine.begin() as conn:
        conn.execute(insert(Setting.__table__).values(key="archive_integrity_share", value=40))
    db.session.commit()  # this process's request ends; no restart, no invalidation call
    assert get_setting("archive_integrity_share") == 40
    with db.engine.begin() as conn:
        conn.execute(
            update(Setting.__table__)
            .where(Setting.__table__.c.key == "archive_integrity_share")
            .values(value=25)
        )
    db.session.commit()
    assert get_setting("archive_integrity_share") == 25
