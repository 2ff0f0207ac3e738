"""The main journeys of issue 14 (point 9) in a real browser, one per role that works with
customers, on the demo archive (crm/demo.py) and its demo users: each signs in through the form,
moves through the screens by their Chinese names and asserts what the person sees. A failed
journey leaves a screenshot in its output folder (tests/browser/conftest.py)."""

import re
from datetime import date

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping, which start_worker sends)
import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect
from sqlalchemy import insert, select, text, update

from crm.archives.models import ArchiveDocument, ArchiveVolume
from crm.auth.models import User
from crm.cards.models import MemberCard
from crm.clients.models import Client
from crm.credit import ledger
from crm.credit.models import CreditProfile
from crm.demo import seed_demo
from crm.extensions import db
from tests.browser.conftest import BROWSER, sign_in
from tests.conftest import IS_POSTGRES

pytestmark = BROWSER

PASSWORD = "demo-pass-2026"


# Every table's rows right after the first seeding of this session: seeding through the
# domain (audit and all) takes ten seconds and more; copying the rows back takes a fraction.
_SEEDED: dict[str, list[dict]] = {}


@pytest.fixture
def demo(ctx):
    """The demo archive with 20 customers (the same for every test)."""
    tables = db.metadata.sorted_tables
    if not _SEEDED:
        seed_demo(db.session, 20, PASSWORD)
        db.session.commit()
        with db.engine.connect() as conn:
            for table in tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns))
                _SEEDED[table.name] = [dict(row) for row in rows.mappings()]
        return db.session
    with db.engine.begin() as conn:
        for table in tables:  # parents first
            rows = _SEEDED[table.name]
            if table.name == "counters":  # their rows stay (at zero) between tests
                for row in rows:
                    conn.execute(
                        update(table).where(table.c.name == row["name"]).values(value=row["value"])
                    )
            elif rows:
                conn.execute(insert(table), rows)
        if IS_POSTGRES:  # the next id of each table after the copied rows
            for table in tables:
                if (
                    "id" in table.c
                    and table.c.id.autoincrement is not False
                    and _SEEDED[table.name]
                ):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    return db.session


@pytest.fixture
def journey(live_server, page, output_dir, request):
    """The page, signed out; a screenshot of where it stood when the test fails."""
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        output_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output_dir / "failure.png"), full_page=True)


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def menu(page, category: str, item: str) -> None:
    """Opens a menu entry the way a person does: the category, then the item."""
    page.wait_for_load_state("load")  # the menu's script has run: the toggle opens it
    toggle = page.locator("nav a.dropdown-toggle", has_text=re.compile(rf"^\s*{category}\s*$"))
    entry = (
        toggle.locator("xpath=..")
        .locator(".dropdown-menu")
        .get_by_role("link", name=item, exact=True)
    )
    toggle.click()
    expect(entry).to_be_visible()
    entry.click()
    page.wait_for_load_state("load")


def open_row(page, text: str) -> None:
    """Opens the details of the list row that shows `text` (its name link or its eye icon)."""
    page.locator("table tbody tr", has_text=text).first.locator(
        "a[href*='/details/']"
    ).first.click()
    page.wait_for_url(re.compile(r"/details/"))


def pick(page, field: str, text: str) -> None:
    """Chooses a customer in an ajax field (select2) by typing part of its name."""
    page.locator(f"#s2id_{field}").click()
    page.locator("#select2-drop input.select2-input").fill(text)
    page.locator("#select2-drop .select2-result-label", has_text=text).first.click()


def flash(page, text: str):
    """The message shown after an action, found by its words."""
    return page.locator(".alert", has_text=text).first


def test_account_manager_finds_logs_and_proposes_a_phone_change(demo, journey, live_server):
    page = journey
    am = user("am_east1")
    mine = demo.scalars(
        select(Client)
        .where(Client.owner_id == am.id, Client.kind == "organisation")
        .order_by(Client.id)
    ).first()
    two = mine.short_name[:2]  # two characters of the name, as a person remembers it
    sign_in(page, live_server, "am_east1", PASSWORD)

    menu(page, "客户档案", "客户")
    page.locator("input[name=search]").fill(two)
    page.locator("input[name=search]").press("Enter")
    expect(page.locator("table tbody")).to_contain_text(mine.name)
    open_row(page, mine.name)
    expect(page.locator("body")).to_contain_text(mine.code)

    add_log = page.locator("a[href*='/admin/contactlog/new/']").first
    if not add_log.is_visible():  # the card in tabs: the contact log's own tab first
        page.get_by_role("tab", name="沟通记录").click()
    add_log.click()
    page.locator("input[name=contact_date]").fill(date.today().isoformat())
    page.locator("select[name=way]").select_option(label="电话", force=True)
    page.locator("input[name=person_met]").fill("采购部王经理")
    page.locator("textarea[name=record]").fill("电话确认明年会籍续约意向")
    page.locator("input[type=submit][value='保存']").click()
    expect(page.locator("body")).to_contain_text("电话确认明年会籍续约意向")

    page.goto(f"{live_server}/admin/client/details/?id={mine.id}")
    page.locator("a[href*='/admin/client/edit/']").first.click()
    page.locator("input[name=phone]").fill("021-88886666")
    page.locator("textarea[name=change_reason]").fill("客户更换总机号码")
    page.locator("input[type=submit][value='保存']").click()
    expect(page).not_to_have_url(re.compile(r"/edit/"))

    menu(page, "审批与合规", "变更申请")
    row = page.locator("table tbody tr", has_text="021-88886666")
    expect(row).to_contain_text("待审批")
    expect(row).to_contain_text(mine.name)
    assert demo.get(Client, mine.id).phone != "021-88886666"  # not applied before approval


def test_regional_manager_assigns_an_unowned_customer(demo, journey, live_server):
    page = journey
    rm = user("rm_east")
    waiting = demo.scalars(
        select(Client)
        .where(Client.owner_id.is_(None), Client.region_id == rm.region_id)
        .order_by(Client.id)
    ).first()
    sign_in(page, live_server, "rm_east", PASSWORD)

    menu(page, "客户登记与分配", "待分配客户")
    row = page.locator("table tbody tr", has_text=waiting.name)
    owner = row.locator("select[name=owner_id] option", has_text="李强").first
    row.locator("select[name=owner_id]").select_option(owner.get_attribute("value"), force=True)
    row.get_by_role("button", name="分配").click()
    expect(flash(page, waiting.name)).to_contain_text("李强")
    expect(page.locator("table tbody")).not_to_contain_text(waiting.name)

    menu(page, "客户档案", "客户")
    page.locator("input[name=search]").fill(waiting.name)
    page.locator("input[name=search]").press("Enter")
    expect(page.locator("table tbody tr", has_text=waiting.name)).to_contain_text("李强")


def test_sales_manager_approves_a_change_and_a_deletion_and_restores(demo, journey, live_server):
    page = journey
    sign_in(page, live_server, "sales_mgr", PASSWORD)

    menu(page, "审批与合规", "变更申请")
    open_row(page, "待审批")  # the demo's change: a customer's short name, asked by 王芳
    expect(page.locator("body")).to_contain_text("蔡娜芳（新简称）")
    page.get_by_role("button", name="同意并执行修改").click()
    expect(flash(page, "修改已生效")).to_be_visible()
    assert demo.scalars(select(Client).where(Client.short_name == "蔡娜芳（新简称）")).first()

    menu(page, "审批与合规", "删除申请")
    pending = page.locator("table tbody tr", has_text="待审批").first
    label = pending.locator("td").filter(has_text="客户:").first.inner_text()
    deleted_name = re.search(r"客户:\s*(.+?)\s*\(", label).group(1)
    open_row(page, "待审批")
    page.get_by_role("button", name="同意删除").click()
    expect(flash(page, "已删除")).to_be_visible()

    menu(page, "客户档案", "客户")
    expect(page.locator("table tbody")).not_to_contain_text(deleted_name)

    menu(page, "审批与合规", "回收站")
    open_row(page, deleted_name)
    page.get_by_role("button", name="整体恢复").click()
    expect(flash(page, "已整体恢复")).to_be_visible()
    menu(page, "客户档案", "客户")
    page.locator("input[name=search]").fill(deleted_name)
    page.locator("input[name=search]").press("Enter")
    expect(page.locator("table tbody")).to_contain_text(deleted_name)


@pytest.fixture
def worker(app):
    """A real Celery worker in this process, on the test broker: the check runs as in production."""
    celery_app = app.extensions["celery"]
    celery_app.set_current()
    celery_app.set_default()
    with start_worker(celery_app, pool="solo", shutdown_timeout=30, perform_ping_check=False):
        yield


@pytest.mark.worker
def test_finance_runs_a_credit_check_and_records_a_payment(demo, worker, journey, live_server):
    page = journey
    over = [
        p
        for p in demo.scalars(select(CreditProfile).order_by(CreditProfile.id))
        if (ledger.client_credit(demo, p.client_id)["utilisation"] or 0) > 100
    ]
    assert over, "the demo archive has customers over their limit"
    debtor = demo.get(Client, over[0].client_id)
    sign_in(page, live_server, "finance", PASSWORD)

    menu(page, "信用管理", "信用检查")
    page.get_by_role("button", name="检查全部客户").click()
    run = page.locator("#check-runs tbody tr").first
    # The page refreshes itself while the run is under way; the worker finishes it.
    expect(run).to_contain_text("检查完毕", timeout=60_000)
    expect(run.locator(".progress-bar")).to_have_text("100%")
    expect(run).to_contain_text(f"{len(over)} 户超额")

    menu(page, "信用管理", "信用档案")
    row = page.locator("table tbody tr", has_text=debtor.name)
    utilisation = float(re.search(r"(\d+(?:\.\d+)?)%", row.inner_text()).group(1))
    assert utilisation > 100

    menu(page, "信用管理", "应收账款台账")
    page.get_by_role("link", name="创建").first.click()
    pick(page, "client", debtor.short_name or debtor.name)
    page.locator("select[name=kind]").select_option(label="还款", force=True)
    page.locator("input[name=entry_date]").fill(date.today().isoformat())
    page.locator("input[name=amount]").fill("1000")
    page.locator("input[name=reference]").fill("RCPT-J9")
    page.locator("input[type=submit][value='保存']").click()
    expect(page.locator("table tbody tr", has_text="RCPT-J9")).to_contain_text(debtor.name)


def test_clerk_issues_a_card_reports_it_lost_and_replaces_it(demo, journey, live_server):
    page = journey
    holder = demo.scalars(
        select(Client)
        .where(Client.kind == "organisation", Client.stage == "active")
        .order_by(Client.id)
    ).first()
    sign_in(page, live_server, "clerk", PASSWORD)

    menu(page, "客人卡管理", "客人卡")
    page.get_by_role("link", name="创建").first.click()
    pick(page, "client", holder.short_name or holder.name)
    page.locator("select[name=card_type]").select_option(label="普通卡", force=True)
    page.locator("input[type=submit][value='保存']").click()
    expect(page).not_to_have_url(re.compile(r"/new/"))
    card = demo.scalars(
        select(MemberCard).where(MemberCard.client_id == holder.id).order_by(MemberCard.id.desc())
    ).first()
    assert card is not None and card.status == "active"
    number = card.number
    page.locator("input[name=search]").fill(number)
    page.locator("input[name=search]").press("Enter")
    expect(page.locator("table tbody tr", has_text=number)).to_contain_text("有效")
    open_row(page, number)
    page.locator("#move-report_lost input[name=reason]").fill("持卡人遗失")
    page.get_by_role("button", name="挂失（立即冻结）").click()
    expect(page.locator(".crm-card-title")).to_contain_text("已挂失")

    page.locator("#move-replace input[name=reason]").fill("补办")
    page.locator("#move-replace button").click()
    expect(flash(page, "已办理新卡")).to_be_visible()
    title = page.locator(".crm-card-title")
    expect(title).to_contain_text("有效")
    expect(title).not_to_contain_text(number)


def test_customer_service_takes_a_complaint_and_hands_it_over(demo, journey, live_server):
    page = journey
    customer = demo.scalars(
        select(Client).where(Client.kind == "organisation").order_by(Client.id)
    ).first()
    sign_in(page, live_server, "service", PASSWORD)

    menu(page, "投诉与折价", "投诉")
    page.get_by_role("link", name="创建").first.click()
    pick(page, "client", customer.short_name or customer.name)
    page.locator("select[name=channel]").select_option(label="电话", force=True)
    page.locator("select[name=category]").select_option(label="服务", force=True)
    page.locator("textarea[name=description]").fill("宴会厅空调温度过低，客人不满")
    page.locator("input[type=submit][value='保存']").click()
    open_row(page, customer.name)
    expect(page.locator("body")).to_contain_text("宴会厅空调温度过低")

    handover = page.locator("#handover-form")
    handover.locator("select[name=to_user]").select_option(index=1, force=True)
    colleague = demo.get(User, int(handover.locator("select[name=to_user]").input_value()))
    handover.locator("input[name=note]").fill("请工程部协调处理")
    handover.get_by_role("button", name="移交").click()
    expect(page.locator("#handovers")).to_contain_text("请工程部协调处理")
    expect(page.locator("#handovers")).to_contain_text(colleague.full_name)


def test_archivist_binds_a_signed_document_and_prints_the_catalogue(demo, journey, live_server):
    page = journey
    filed = demo.scalars(
        select(ArchiveDocument)
        .where(ArchiveDocument.status == "filed")
        .order_by(ArchiveDocument.id)
    ).first()
    sign_in(page, live_server, "archivist", PASSWORD)

    menu(page, "档案管理", "档案文件")
    page.locator("input[name=search]").fill(filed.client_name)
    page.locator("input[name=search]").press("Enter")
    row = (
        page.locator("table tbody tr", has_text=filed.title).filter(has_text="已归档，待编目").first
    )
    row.locator("a[href*='/details/']").first.click()
    page.get_by_role("button", name="立即装订入卷").click()
    expect(flash(page, "已装订入卷")).to_be_visible()
    demo.expire_all()
    archive_no = demo.get(ArchiveDocument, filed.id).archive_no
    assert archive_no
    expect(page.locator(".crm-card-title")).to_contain_text(archive_no)

    menu(page, "档案管理", "案卷与目录")
    volume = demo.get(ArchiveVolume, demo.get(ArchiveDocument, filed.id).volume_id).code
    page.locator("table tbody tr", has_text=volume).first.get_by_role("link", name=volume).click()
    expect(page.locator("body")).to_contain_text(archive_no)
    href = page.locator("a[id^='pdf-']").first.get_attribute("href")
    pdf = page.request.get(f"{live_server}{href}")
    assert pdf.ok and pdf.body()[:5] == b"%PDF-"
