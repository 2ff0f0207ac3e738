"""Customer cards from Excel (issue 3 point 8): the template staff fill, and its import.

The import is all-or-nothing: every row is read, checked exactly as the form checks a card
(crm.clients.services.check_new_client) and compared with the file's other rows and with the
customers already registered; if anything is wrong, the report lists each problem by row
number and column and nothing is written. Otherwise every row is registered through
register_clients (register_client's checks, one flush) in the caller's one transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Date, Integer, Numeric, select

from crm.access import ACCOUNT_MANAGER
from crm.auth.models import Region, User
from crm.clients.models import Client
from crm.clients.services import check_new_client, register_clients
from crm.errors import DomainError
from crm.excel.safe import SafeWorkbook
from crm.intake.duplicates import existing_matches, match_keys
from crm.kernel import to_decimal
from crm.uploads import is_xlsx

# The card's columns in the order of the paper card (RULES R1), with the staff's headers.
HEADERS = {
    "name": "客户全称",
    "short_name": "简称",
    "kind": "客户类型",
    "credit_code": "统一社会信用代码",
    "tax_number": "税号",
    "licence_number": "营业执照号",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "company_type": "公司类型",
    "registered_capital": "注册资金（已到位）",
    "fixed_assets": "固定资产",
    "working_capital": "流动资金",
    "staff_count": "员工人数",
    "business_area": "营业面积（平方米）",
    "opening_date": "开业日期",
    "business_scope": "经营范围",
    "main_products": "主要产品及品牌",
    "market": "内销/外销",
    "trade_mode": "批发/零售",
    "gender": "性别",
    "birth_date": "出生日期",
    "occupation": "职业",
    "id_number": "身份证号",
    "province": "省（自治区）",
    "city": "市（县）",
    "street": "详细地址",
    "postcode": "邮编",
    "phone": "电话",
    "fax": "传真",
    "mobile": "手机",
    "email": "电子邮箱",
    "website": "网址",
    "market_region": "市场区域",
    "sales_capacity": "销售能力",
    "development_potential": "发展潜力",
    "business_philosophy": "经营观念与方式",
    "policy_notes": "市场政策动态",
    "first_contact_date": "首次接触日期",
    "first_deal_date": "与本公司首次交易日期",
    "consumption_kinds": "消费种类",
    "satisfaction": "满意度",
    "attitude": "合作态度",
    "level": "客户级别",
    "stage": "交易阶段",
    "nature": "客户性质",
    "weight": "客户分量",
    "owner": "客户经理",
    "region": "大区",
}
REQUIRED = {"name"}
# Values as staff write them (the screens' Chinese words) and the stored codes.
CHOICES = {
    "kind": {"单位": "organisation", "个人": "individual"},
    "company_type": {
        "国营": "state_owned",
        "外资": "foreign",
        "合资": "joint_venture",
        "私营": "private",
        "个体": "individual_business",
    },
    "market": {"内销": "domestic", "外销": "export", "兼有": "both"},
    "trade_mode": {"批发": "wholesale", "零售": "retail", "兼有": "both"},
    "gender": {"男": "male", "女": "female"},
    "satisfaction": {
        "很满意": "very_satisfied",
        "满意": "satisfied",
        "一般": "neutral",
        "不满意": "dissatisfied",
    },
    "level": {v: v for v in "KABCD"},
    "stage": {"未来客户": "prospect", "正在交易": "active", "曾经交易": "former"},
    "nature": {
        "政府机构": "government",
        "特殊公司": "special",
        "普通公司": "ordinary",
        "个人": "individual",
        "交易伙伴": "partner",
    },
    "weight": {"主力": "key", "一般": "general", "零散": "scattered"},
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


@dataclass(frozen=True)
class RowError:
    row: int  # the row number Excel shows; 1 is the header
    field: str
    header: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: int, name: str, message) -> None:
        self.errors.append(RowError(row, name, HEADERS.get(name, name), str(message)))


def template_workbook(rows=()) -> bytes:
    """The card template: Chinese headers, a drop-down for each choice, optional rows.
    Written in openpyxl's write-only mode: thousands of rows in a fraction of the time."""
    wb = SafeWorkbook()
    ws = wb.sheet("客户档案卡")
    fields = list(HEADERS)
    ws.freeze_panes = "B2"
    for i, name in enumerate(fields, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(HEADERS[name]) * 2 + 2)
        if name in CHOICES:
            check = DataValidation(
                type="list", allow_blank=True, formula1='"' + ",".join(CHOICES[name]) + '"'
            )
            check.add(f"{letter}2:{letter}10000")
            ws.data_validations.append(check)
    header = []
    for name in fields:
        cell = WriteOnlyCell(ws, value=HEADERS[name] + ("*" if name in REQUIRED else ""))
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([row.get(f) for f in fields])
    return wb.save()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():  # a number typed into a text column
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.strftime("%Y-%m-%d")
    text = str(value).strip()
    return text or None


def _date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_l("Not a date; write it as YYYY-MM-DD."))


def _integer(value):
    number = to_decimal(_text(value))
    if number != number.to_integral_value():
        raise ValueError(_l("A whole number is needed."))
    return int(number)


def _converter(name):
    if name in CHOICES:
        choices = CHOICES[name]

        def choice(value):
            text = _text(value)
            code = choices.get(text) or (text if text in choices.values() else None)
            if code is None:
                raise ValueError(_l("Choose one of: %(values)s", values="、".join(choices)))
            return code

        return choice
    column = Client.__table__.columns.get(name)
    kind = column.type if column is not None else None
    if isinstance(kind, Date):
        return _date
    if isinstance(kind, Numeric):
        return lambda value: to_decimal(_text(value))
    if isinstance(kind, Integer):
        return _integer
    return _text


class _People:
    """Account managers and regions by the names staff write, loaded once per import."""

    def __init__(self, session):
        self.users = {}
        for user in session.scalars(
            select(User).where(User.role == ACCOUNT_MANAGER, User.active.is_(True))
        ):
            self.users.setdefault(user.username, user)
            self.users.setdefault(user.full_name, user)
        self.regions = {}
        for region in session.scalars(select(Region)):
            self.regions[region.name] = self.regions[region.code] = region


def read_rows(stream, report: ImportReport) -> list[tuple[int, dict]]:
    """The filled rows as {field: raw value}, numbered as Excel shows them."""
    try:
        if not is_xlsx(stream):  # by content: a zip with the parts of a workbook
            raise ValueError
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        report.add(1, "file", _l("This is not an .xlsx workbook."))
        return []
    rows = wb.active.iter_rows(values_only=True)
    by_header = {h: f for f, h in HEADERS.items()}
    header = next(rows, ())
    columns = [by_header.get((_text(h) or "").rstrip("*")) for h in header]
    if "name" not in columns:
        report.add(1, "name", _l("The header row must hold the template's column names."))
        return []
    out = []
    for number, values in enumerate(rows, start=2):
        data = {
            f: v
            for f, v in zip(columns, values, strict=False)
            if f and v is not None and _text(v) is not None
        }
        if data:
            out.append((number, data))
    wb.close()
    return out


def check_rows(session, rows, report: ImportReport) -> list[tuple[int, Client, str | None]]:
    """Every row checked like the form, then for duplicates; the cards ready to register."""
    people = _People(session)
    ready, keys = [], []
    for number, raw in rows:
        values, id_number, bad = {}, None, False
        for name, value in raw.items():
            try:
                values[name] = _converter(name)(value)
            except ValueError as exc:
                report.add(number, name, exc.args[0])
                bad = True
        owner = values.pop("owner", None)
        region = values.pop("region", None)
        id_number = values.pop("id_number", None)
        client = Client(**{k: v for k, v in values.items()})
        if owner:
            if owner in people.users:
                client.owner_id = people.users[owner].id
            else:
                report.add(number, "owner", _l("No active account manager of this name."))
                bad = True
        if region:
            if region in people.regions:
                client.region_id = people.regions[region].id
            else:
                report.add(number, "region", _l("No region of this name."))
                bad = True
        try:
            check_new_client(session, client, id_number)
        except DomainError as exc:
            for name, message in (exc.field_errors or {"name": exc.message}).items():
                report.add(number, name, message)
            bad = True
        if (
            owner
            and region
            and owner in people.users
            and region in people.regions
            and people.users[owner].region_id != people.regions[region].id
        ):
            report.add(number, "region", _l("The account manager works in another region."))
            bad = True
        if client.owner_id is None and client.region_id is None and not bad:
            # R12: an unowned customer waits in its regional manager's queue; it needs one.
            report.add(
                number,
                "region",
                _l(
                    "A customer without an account manager needs a "
                    "region, whose manager assigns it."
                ),
            )
            bad = True
        keys.append(match_keys({**values, "name": client.name, "id_number": id_number}))
        ready.append((number, client, id_number, bad))
    _check_duplicates(session, ready, keys, report)
    return [(n, c, i) for n, c, i, _ in ready]


def _check_duplicates(session, ready, keys, report: ImportReport) -> None:
    """A row matching an earlier row, or a registered customer, is reported, not doubled."""
    first_row = {}
    existing = existing_matches(session, keys)
    for (number, *_), row_keys in zip(ready, keys, strict=True):
        for name, key in row_keys.items():
            if (name, key) in existing:
                match = existing[(name, key)]
                report.add(
                    number,
                    name,
                    _l(
                        "Already registered: %(name)s, account manager %(owner)s.",
                        name=match.name,
                        owner=match.owner or _l("none"),
                    ),
                )
            elif (name, key) in first_row:
                report.add(
                    number, name, _l("Same customer as row %(row)d.", row=first_row[(name, key)])
                )
            else:
                first_row[(name, key)] = number


def import_cards(session, stream) -> ImportReport:
    """Check the whole file; write every card, or none. The caller commits."""
    report = ImportReport()
    rows = read_rows(stream, report)
    report.rows = len(rows)
    if report.errors:
        return report
    ready = check_rows(session, rows, report)
    if report.errors:
        report.errors.sort(key=lambda e: e.row)
        return report
    with session.no_autoflush:
        report.created = len(register_clients(session, [(c, i) for _, c, i in ready]))
    return report
