"""crm.access adds to each statement only the loader criteria of the classes it can load
(issue 8: a criterion per scoped model on every statement cost a third of a page's time).
None may be left out that the statement needs."""

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload, with_loader_criteria

from crm import access
from crm.auth.models import User
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.contracts.models import Contract
from crm.kernel import SoftDeleted
from crm.notifications.models import Notification


def _kept(statement) -> set:
    options = [
        with_loader_criteria(m, m.id > 0)
        for m in (Client, Contract, KeyPerson, ContactLog, Notification, User)
    ]
    options.append(
        with_loader_criteria(
            SoftDeleted, lambda cls: cls.deleted_at.is_(None), include_aliases=True
        )
    )
    return {
        o.entity.class_ if o.entity is not None else o.root_entity
        for o in access.hook._present(statement, options)
    }


def test_a_statement_keeps_the_criteria_of_what_it_reads_and_joins(ctx):
    assert _kept(select(KeyPerson)) >= {KeyPerson, SoftDeleted}
    assert Contract not in _kept(select(KeyPerson))
    # Contract.client loads eagerly (lazy="joined"): the customer's scope goes along
    assert _kept(select(Contract)) >= {Contract, Client}
    assert Client in _kept(select(func.count()).select_from(Client))
    assert Client in _kept(select(aliased(Client).id))
    assert Client in _kept(select(KeyPerson).join(Client, Client.id == KeyPerson.client_id))
    assert Client in _kept(
        select(KeyPerson).where(KeyPerson.client_id.in_(select(Client.id).scalar_subquery()))
    )
    assert Notification in _kept(
        select(func.count()).select_from(select(Notification.id).subquery())
    )


def test_a_statement_with_loader_options_keeps_the_criteria_of_their_paths(ctx):
    kept = _kept(select(Client).options(joinedload(Client.key_persons)))
    assert kept >= {Client, KeyPerson, SoftDeleted}
    assert not kept & {Contract, ContactLog, Notification}
    kept = _kept(select(ContactLog).options(selectinload(ContactLog.client).joinedload("*")))
    every = {Client, Contract, KeyPerson, ContactLog, Notification, User, SoftDeleted}
    assert kept == every  # a wildcard may reach anything


def test_a_table_the_map_does_not_know_keeps_every_criterion(ctx, monkeypatch):
    monkeypatch.delitem(access.hook._classes_by_table(KeyPerson.registry), "key_persons")
    every = {Client, Contract, KeyPerson, ContactLog, Notification, User, SoftDeleted}
    assert _kept(select(KeyPerson)) == every
