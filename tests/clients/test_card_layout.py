"""Issue 14 point 4: the customer card as a person reads it — the figures that matter at a
glance in a header, the sections as tabs (all in the page), only the fields of the customer's
kind, each section for who may read it; the create and edit forms in sections by kind, the
nature following the kind, the other kind's fields cleared by the server."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.archives.models import ArchiveDocument
from crm.cards.models import CardType, MemberCard
from crm.clients.models import Client
from crm.complaints.models import Complaint
from crm.credit import ledger
from crm.extensions import db
from crm.governance.models import Consent
from crm.revisits.models import Revisit
from crm.timeutil import local_today, utcnow
from tests import factories
from tests.credit.conftest import give_profile
from tests.scale.test_list_queries import Statements

CARD = "/admin/client/details/?id={}"
NEW = "/admin/client/new/"


def _head(html: str, name: str) -> str:
    match = re.search(rf'<dd id="head-{name}"[^>]*>(.*?)</dd>', html, re.S)
    assert match, f"no {name} in the card's header"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _basic(html: str) -> str:
    """The basic information pane: the card's own fields."""
    return re.search(r'<section[^>]*id="tab-basic".*?</section>', html, re.S).group(0)


def _card_type(code="GOLD", name="金卡") -> CardType:
    card_type = CardType(code=code, name=name)
    db.session.add(card_type)
    db.session.flush()
    return card_type


def _cards(client, card_type, statuses, prefix="8866000000000") -> None:
    today = local_today()
    for i, status in enumerate(statuses):
        db.session.add(
            MemberCard(
                number=f"{prefix}{client.id:01d}{i:02d}"[-16:],
                client_id=client.id,
                card_type_id=card_type.id,
                issue_date=today - timedelta(days=10 + i),
                expiry_date=today + timedelta(days=300),
                status=status,
            )
        )


def _complaints(client, statuses) -> None:
    for i, status in enumerate(statuses):
        db.session.add(
            Complaint(
                client_id=client.id,
                channel="phone",
                category="service",
                description=f"投诉{i}",
                status=status,
                received_at=utcnow() - timedelta(days=i),
            )
        )


def _document(client, manager, title, n=0) -> None:
    db.session.add(
        ArchiveDocument(
            client_id=client.id,
            client_name=client.name,
            manager_id=manager.id,
            category="contracts",
            title=title,
            doc_date=date(2026, 3, 1) + timedelta(days=n),
            retention="D10",
        )
    )


@pytest.fixture
def crafted(world):
    """c1 with a credit limit of 10,000.00, 3,000.00 charged 40 days ago (due after 30, so
    overdue) and 1,000.00 today; two live cards (one active, one lost) and a cancelled one;
    one open and one handled complaint and a solved one; revisits due in 9 and 5 days (and
    one done yesterday); marketing consent given, greetings withdrawn; one archive document."""
    w = world
    today = local_today()
    give_profile(w.c1, "10000.00")
    ledger.record_charge(db.session, w.c1.id, "3000.00", today - timedelta(days=40), "C-OLD")
    ledger.record_charge(db.session, w.c1.id, "1000.00", today, "C-NEW")
    _cards(w.c1, _card_type(), ["active", "lost", "cancelled"])
    _complaints(w.c1, ["open", "handling", "solved"])
    for due, status in ((9, "open"), (5, "open"), (-1, "done")):
        db.session.add(
            Revisit(client_id=w.c1.id, due_date=today + timedelta(days=due), status=status)
        )
    db.session.add(Consent(client_id=w.c1.id, purpose="marketing", given_how="written"))
    db.session.add(
        Consent(client_id=w.c1.id, purpose="greetings", given_how="written", withdrawn_at=utcnow())
    )
    _document(w.c1, w.am1, "年度经销合同")
    db.session.commit()
    w.figures = ledger.client_credit(db.session, w.c1.id)
    return w


def test_the_header_shows_the_figures_at_a_glance(crafted, login_as):
    w = crafted
    html = login_as(w.sales_manager).get(CARD.format(w.c1.id)).get_data(as_text=True)
    assert _head(html, "level") == w.c1.level
    assert _head(html, "stage") == "未来客户"  # prospect, in the staff's words
    assert _head(html, "owner") == w.am1.full_name
    assert w.figures["overdue"] == Decimal("3000.00")  # the set-up holds
    shown = re.search(r'id="card-utilisation">([^<]*)<', html).group(1).strip()
    assert _head(html, "utilisation") == shown and shown.startswith("40")  # 4,000 of 10,000
    assert _head(html, "overdue") == "3,000.00"
    assert _head(html, "cards") == "2"  # active and lost; not the cancelled one
    assert _head(html, "complaints") == "2"  # open and being handled; not the solved one
    assert _head(html, "revisit") == str(local_today() + timedelta(days=5))
    consent = _head(html, "consent")
    assert "营销推广: 是" in consent and "祝福与调查: 否" in consent  # withdrawn: no
    # the header comes before the tabs, and the sections are tabs, all in the page
    assert html.index('id="card-header"') < html.index('id="card-tabs"')
    for pane in (
        "basic",
        "key-persons",
        "contact-log",
        "contracts",
        "credit",
        "cards",
        "complaints",
        "documents",
        "history",
    ):
        assert f'data-toggle="tab" href="#tab-{pane}"' in html, pane
        assert re.search(rf'<section class="tab-pane fade[^"]*" id="tab-{pane}"', html), pane
    assert "年度经销合同" in html and "投诉2" in html and "C-OLD" in html
    assert 'id="card-pdf"' in html  # the print button stays


def test_a_card_of_nothing_yet_shows_zeros_and_dashes(world, login_as):
    html = login_as(world.sales_manager).get(CARD.format(world.c2.id)).get_data(as_text=True)
    assert _head(html, "cards") == "0" and _head(html, "complaints") == "0"
    assert _head(html, "revisit") == "—" and _head(html, "overdue") == "0.00"


def test_an_organisations_card_has_no_personal_rows(world, login_as):
    html = login_as(world.sales_manager).get(CARD.format(world.c1.id)).get_data(as_text=True)
    basic = _basic(html)
    assert "统一社会信用代码" in basic and world.c1.credit_code in basic
    for label in ("性别", "出生日期", "身份证号"):
        assert label not in basic, label


def test_an_individuals_card_has_no_company_rows(world, login_as):
    person = factories.create_client(
        world.am1,
        name="王小明",
        kind="individual",
        credit_code=None,
        gender="male",
        id_number=factories.valid_id_number(),
    )
    html = login_as(world.sales_manager).get(CARD.format(person.id)).get_data(as_text=True)
    basic = _basic(html)
    assert "性别" in basic and "出生日期" in basic and "身份证号" in basic
    for label in ("统一社会信用代码", "注册资本", "公司类型", "员工人数"):
        assert label not in basic, label


@pytest.mark.parametrize("who", ["clerk", "service"])
def test_a_role_that_may_not_read_credit_has_no_credit_tab(crafted, login_as, who):
    html = login_as(getattr(crafted, who)).get(CARD.format(crafted.c1.id)).get_data(as_text=True)
    assert 'href="#tab-credit"' not in html and 'id="tab-credit"' not in html
    assert 'id="head-utilisation"' not in html and 'id="head-overdue"' not in html
    assert "C-OLD" not in html
    assert 'href="#tab-cards"' in html and _head(html, "cards") == "2"  # they read the cards


def test_credit_readers_have_the_credit_tab(crafted, login_as):
    for who in ("finance", "am1"):
        html = (
            login_as(getattr(crafted, who)).get(CARD.format(crafted.c1.id)).get_data(as_text=True)
        )
        assert 'href="#tab-credit"' in html and 'id="credit-section"' in html, who


def test_each_section_follows_the_readers_level(crafted, login_as):
    """A clerk reads the card and its member cards, but not the customer's complaints,
    revisits or archive documents; its account manager reads them all."""
    html = login_as(crafted.clerk).get(CARD.format(crafted.c1.id)).get_data(as_text=True)
    assert 'href="#tab-documents"' not in html and "年度经销合同" not in html
    assert 'href="#tab-complaints"' not in html and 'id="head-complaints"' not in html
    assert 'id="head-revisit"' not in html
    mine = login_as(crafted.am1).get(CARD.format(crafted.c1.id)).get_data(as_text=True)
    assert 'href="#tab-documents"' in mine and "年度经销合同" in mine


# --- the forms -----------------------------------------------------------------------------
def _fieldset(html: str, key: str) -> str:
    return re.search(
        rf'<fieldset class="crm-form-section" id="section-{key}"[^>]*>.*?</fieldset>', html, re.S
    ).group(0)


def _selected(html: str, field: str) -> str:
    select_ = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(
        r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select_
    ).group(0)


def test_the_create_form_is_in_sections_with_legends(world, login_as):
    html = login_as(world.am1).get(NEW).get_data(as_text=True)
    for key in (
        "identity",
        "organisation",
        "individual",
        "classification",
        "contact",
        "relationship",
        "characteristics",
    ):
        assert "<legend" in _fieldset(html, key), key
    assert 'id="credit_code"' in _fieldset(html, "organisation")
    assert 'id="id_number"' in _fieldset(html, "individual")
    assert 'id="gender"' not in _fieldset(html, "organisation")
    # an organisation by default: the person's section is hidden and not sent
    assert re.search(r'id="section-individual"[^>]*hidden disabled', html)
    assert not re.search(r'id="section-organisation"[^>]*hidden', html)
    assert 'value="ordinary"' in _selected(html, "nature")
    assert "client_form.js" in html


def test_the_nature_follows_the_kind_on_a_new_card(world, login_as):
    html = login_as(world.am1).get(NEW + "?kind=individual").get_data(as_text=True)
    assert 'value="individual"' in _selected(html, "kind")
    assert 'value="individual"' in _selected(html, "nature")
    assert re.search(r'id="section-organisation"[^>]*hidden disabled', html)
    assert not re.search(r'id="section-individual"[^>]*hidden', html)


def _post_new(web, **data):
    base = {
        "name": "新客户",
        "level": "B",
        "stage": "prospect",
        "weight": "general",
        "phone": f"010-{len(data.get('name', '')) * 1111111 % 90000000 + 10000000}",
    }
    r = web.post(NEW, data={**base, **data})
    assert r.status_code == 302 and "/details/" not in r.location, r.get_data(as_text=True)
    return db.session.scalars(
        select(Client)
        .where(Client.name == data.get("name", "新客户"))
        .execution_options(populate_existing=True)
    ).one()


def test_the_server_clears_the_other_kinds_fields(world, login_as):
    web = login_as(world.am1)
    person = _post_new(
        web,
        name="张个人",
        kind="individual",
        nature="ordinary",
        credit_code=factories.valid_credit_code(77),
        registered_capital="500",
        company_type="private",
        gender="female",
        occupation="教师",
    )
    assert (person.nature, person.credit_code, person.registered_capital, person.company_type) == (
        "individual",
        None,
        None,
        None,
    )
    assert (person.gender, person.occupation) == ("female", "教师")
    company = _post_new(
        web,
        name="某某有限公司",
        kind="organisation",
        nature="individual",
        credit_code=factories.valid_credit_code(78),
        gender="male",
        birth_date="1980-01-02",
        id_number=factories.valid_id_number(),
    )
    assert (company.gender, company.birth_date, company.id_number_enc, company.id_number_mask) == (
        None,
        None,
        None,
        None,
    )
    assert company.nature == "ordinary" and company.credit_code


def test_a_hidden_fields_bad_value_does_not_stop_the_card(world, login_as):
    """A wrong credit code left in the hidden company section is not held against a person."""
    person = _post_new(
        login_as(world.am1),
        name="李个人",
        kind="individual",
        nature="individual",
        credit_code="NOT-A-CODE",
    )
    assert person.credit_code is None


def test_the_edit_form_of_a_person_hides_the_company_section(world, login_as):
    person = factories.create_client(world.am1, name="赵个人", kind="individual", credit_code=None)
    html = login_as(world.am1).get(f"/admin/client/edit/?id={person.id}").get_data(as_text=True)
    assert re.search(r'id="section-organisation"[^>]*hidden disabled', html)
    assert 'id="section-change"' in html and 'id="change_reason"' in _fieldset(html, "change")


# --- bounded statements --------------------------------------------------------------------
def _statements(web, url) -> int:
    db.session.remove()
    with Statements() as statements:
        assert web.get(url).status_code == 200
    return statements.count


@pytest.mark.parametrize("who", ["sales_manager", "am1", "clerk", "service"])
def test_the_card_runs_the_same_statements_for_many_rows_or_none(world, login_as, who):
    card_type = _card_type()
    _cards(world.c1, card_type, ["active"] * 30, prefix="88661111111")
    _complaints(world.c1, ["open"] * 30)
    for n in range(30):
        _document(world.c1, world.am1, f"文件{n}", n)
    for n in range(30):
        db.session.add(Revisit(client_id=world.c1.id, due_date=local_today() + timedelta(n + 1)))
    db.session.commit()
    web = login_as(getattr(world, who))
    rich_url = CARD.format(world.c1.id)
    plain_url = CARD.format(factories.create_client(world.am1, name="空白客户").id)
    rich, plain = _statements(web, rich_url), _statements(web, plain_url)
    html = web.get(rich_url).get_data(as_text=True)
    if 'id="head-cards"' in html:
        assert _head(html, "cards") == "30"  # counted beyond the 20 rows shown
    # at most one statement more on the full card: the count past the rows shown, per section
    assert plain <= rich <= plain + 2
