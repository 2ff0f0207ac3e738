from sqlalchemy import select

from crm.archives import rules
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.demo import seed_demo
from crm.extensions import db
from crm.timeutil import local_today


def rows(model, **where):
    # The governance demo bins a customer or two, which hides their rows: count them all.
    return db.session.scalars(select(model).filter_by(**where).execution_options(
        crm_include_deleted=True)).all()


def test_demo_has_a_closed_and_an_open_year_with_every_category_and_state(ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    year = local_today().year
    volumes = rows(ArchiveVolume)
    assert {v.status for v in volumes if v.year == year - 1} == {"closed"}
    assert {v.status for v in volumes if v.year == year} == {"open"}
    docs = rows(ArchiveDocument)
    for y in (year - 1, year):
        assert {d.category for d in docs if d.doc_date.year == y} == set(rules.CATEGORIES)
    assert {d.dual_status for d in docs if d.doc_date.year == year} == set(rules.DUAL)
    assert {d.status for d in docs} == set(rules.STATUSES)
    assert {f.kind for f in rows(ArchiveFlag)} == set(rules.FLAG_KINDS)
    linked = next(d for d in docs if d.dual_status == "linked")
    lines = rows(CatalogueLine, document_id=linked.id)
    assert {line.set_kind for line in lines} == {"paper", "electronic"}
