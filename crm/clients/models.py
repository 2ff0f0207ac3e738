from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import Region, User
from crm.extensions import db
from crm.kernel import Money, SoftDeleted
from crm.timeutil import utcnow


class Client(SoftDeleted, db.Model):
    """The customer archive card (客户档案卡), RULES R1 and R2."""

    __tablename__ = "clients"
    __audited__ = True
    __sensitive__ = {"id_number_enc", "id_number_hash"}
    __label__ = _l("Customer")
    __scope__ = "basic"
    __scope_area__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    short_name: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="organisation")

    # Organisation identity
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    tax_number: Mapped[str | None] = mapped_column(String(30))
    licence_number: Mapped[str | None] = mapped_column(String(30))
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    company_type: Mapped[str | None] = mapped_column(String(30))
    registered_capital: Mapped[Decimal | None] = mapped_column(Money)
    fixed_assets: Mapped[Decimal | None] = mapped_column(Money)
    working_capital: Mapped[Decimal | None] = mapped_column(Money)
    staff_count: Mapped[int | None]
    business_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    opening_date: Mapped[date | None]
    business_scope: Mapped[str | None] = mapped_column(Text)
    main_products: Mapped[str | None] = mapped_column(Text)
    market: Mapped[str | None] = mapped_column(String(20))
    trade_mode: Mapped[str | None] = mapped_column(String(20))

    # Individual identity; the ID number is kept encrypted, with a keyed hash for look-up
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None]
    occupation: Mapped[str | None] = mapped_column(String(100))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_mask: Mapped[str | None] = mapped_column(String(18))

    # Contact
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(String(30), index=True)
    fax: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(11), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(200))

    # Characteristics
    market_region: Mapped[str | None] = mapped_column(String(100))
    sales_capacity: Mapped[str | None] = mapped_column(String(200))
    development_potential: Mapped[str | None] = mapped_column(String(200))
    business_philosophy: Mapped[str | None] = mapped_column(Text)
    policy_notes: Mapped[str | None] = mapped_column(Text)

    # Relationship with us
    first_contact_date: Mapped[date | None]
    first_deal_date: Mapped[date | None]
    consumption_kinds: Mapped[str | None] = mapped_column(String(200))
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    attitude: Mapped[str | None] = mapped_column(String(200))

    # Classification (R2)
    level: Mapped[str] = mapped_column(String(1), default="D", index=True)
    stage: Mapped[str] = mapped_column(String(20), default="prospect", index=True)
    nature: Mapped[str] = mapped_column(String(20), default="ordinary", index=True)
    weight: Mapped[str] = mapped_column(String(20), default="general", index=True)

    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")
    key_persons: Mapped[list["KeyPerson"]] = relationship(
        back_populates="client", order_by="KeyPerson.id", cascade="save-update, merge"
    )
    contact_logs: Mapped[list["ContactLog"]] = relationship(
        back_populates="client", order_by="ContactLog.seq", cascade="save-update, merge"
    )

    __mapper_args__ = {"version_id_col": version}
    # The list screens' indexes (partial on live rows, trigram, short-term search) are written
    # by hand in migrations 0009 and 0011; see crm.extensions.migration_include_object.

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


class KeyPerson(SoftDeleted, db.Model):
    """主要负责人: the people who decide, with the notes that help deal with them."""

    __tablename__ = "key_persons"
    __audited__ = True
    # R17: personal notes are shown only to roles that need them, so history masks them too.
    __sensitive__ = {"religion", "character", "family_notes", "birth_date", "native_place"}
    __label__ = _l("Key person")
    __scope__ = "detail"
    __scope_area__ = "archive_detail"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    position: Mapped[str] = mapped_column(String(30), default="other")
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None]
    native_place: Mapped[str | None] = mapped_column(String(100))
    education: Mapped[str | None] = mapped_column(String(50))
    religion: Mapped[str | None] = mapped_column(String(50))
    hobbies: Mapped[str | None] = mapped_column(String(200))
    character: Mapped[str | None] = mapped_column(String(200))
    family_notes: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(11))

    client: Mapped[Client] = relationship(back_populates="key_persons")

    def __str__(self) -> str:
        return self.name


class ContactLog(SoftDeleted, db.Model):
    """客户档案卡中沟通信息 (R16): one contact with the customer."""

    __tablename__ = "contact_logs"
    __audited__ = True
    __label__ = _l("Contact log")
    __scope__ = "detail"
    __scope_area__ = "archive_detail"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    seq: Mapped[int]
    contact_date: Mapped[date]
    way: Mapped[str] = mapped_column(String(20))
    person_met: Mapped[str] = mapped_column(String(100))
    person_role: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(1))
    record: Mapped[str] = mapped_column(Text)
    special_points: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(back_populates="contact_logs")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id], lazy="joined")

    __table_args__ = (
        UniqueConstraint("client_id", "seq", name="uq_contact_logs_client_seq"),
        Index("ix_contact_logs_date", "contact_date"),
    )

    def __str__(self) -> str:
        return f"#{self.seq} {self.contact_date}"


class SituationChange(db.Model):
    """R12: a change in a customer's situation (contact, key person, address, status) is
    registered within the working days of when it happened; a late one is marked and counted
    against the account manager responsible."""

    # Not audited itself: it is written with the audited change it registers (same
    # transaction), keeps who and when, and is never edited.
    __tablename__ = "situation_changes"
    __label__ = _l("Situation change")
    __scope__ = "detail"
    __scope_area__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kinds: Mapped[str] = mapped_column(String(60))  # contact,key_person,address,status
    happened_on: Mapped[date]
    registered_on: Mapped[date]
    due_on: Mapped[date]
    late: Mapped[bool] = mapped_column(default=False, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id], lazy="joined")

    def __str__(self) -> str:
        return f"{self.kinds} {self.happened_on}"


class ClientStaff(db.Model):
    """R12: the staff in contact with a customer beyond its owner (an important customer has
    at least two). Being one gives no read access by itself (R5: the responsible manager)."""

    __tablename__ = "client_staff"
    __audited__ = True
    __label__ = _l("Contact staff")
    __scope__ = "basic"
    __scope_area__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(30), default="contact")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship()
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("client_id", "user_id", name="uq_client_staff"),)

    def __str__(self) -> str:
        return str(self.user)


class StaffShortfall(db.Model):
    """R12: a K or A customer found with fewer than two staff in contact, once per week (the
    unique key makes the weekly check's notice go once)."""

    __tablename__ = "staff_shortfalls"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    week_start: Mapped[date]
    staff_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("client_id", "week_start", name="uq_staff_shortfalls_client_week"),
    )
