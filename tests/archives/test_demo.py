from sqlalchemy import select

from crm.archives import rules
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.demo import seed_demo
from crm.extensions import db
from crm.timeutil import local_today


def rows(model, **where):
    # The governance demo bins a customer or two, which hides their rows: count them all.
    return db.session.scalars(
        select(model).filter_by(**where).execution_options(crm_include_deleted=True)
    ).all()


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


def test_demo_shows_disposal_lists_and_a_document_kept_past_its_customer(ctx):
    """Issue 16 point 9: one list carried out (its document disposed of, its volume line
    saying so), one awaiting the sales manager, and a contract kept under retention."""
    from crm.archives.models import DisposalList
    from crm.governance.models import DestructionRecord

    seed_demo(db.session, n_clients=40)
    db.session.commit()
    lists = {d.status: d for d in rows(DisposalList)}
    assert set(lists) == {"done", "proposed"}
    assert all(len(d.items) == 1 for d in lists.values())
    kept = [d for d in rows(ArchiveDocument) if d.client_id is None and d.status == "archived"]
    # The contract is kept for 30 years; the trend report waits on the proposed list.
    assert sorted(d.category for d in kept) == ["contracts", "industry"]
    assert lists["proposed"].items[0].category == "industry"
    assert len(rows(DestructionRecord)) == 2
    disposed = lists["done"].items[0].document_id
    assert {line.disposal_id for line in rows(CatalogueLine, document_id=disposed)} == {
        lists["done"].id
    }
