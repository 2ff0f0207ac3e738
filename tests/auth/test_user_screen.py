"""The system administrator manages users on screen (issue 13 point 6, issue 14 point 7),
through crm.auth.services as the CLI does: the same rules, the same messages, the same audit."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from crm import access
from crm.audit import MASK, AuditEvent
from crm.auth.models import User
from crm.auth.passwords import verify_password
from crm.extensions import db
from tests import factories

NEW_PASSWORD = "screen-pass-2026"


def form(**values) -> dict:
    data = {
        "username": "",
        "full_name": "",
        "role": "finance",
        "region": "__None",
        "email": "",
        "locale": "zh_Hans_CN",
        "password": "",
    }
    data.update({k: v for k, v in values.items() if v is not None})
    return data


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one_or_none()


def body(response) -> str:
    return response.get_data(as_text=True)


def region_needed(role) -> bool:
    return role in (access.ACCOUNT_MANAGER, access.REGIONAL_MANAGER)


@pytest.mark.parametrize("role", sorted(access.ROLES))
def test_the_admin_creates_a_user_of_each_role_who_can_sign_in(app, world, login_as, role):
    admin = login_as(world.admin)
    region = str(world.east.id) if region_needed(role) else None
    r = admin.post(
        "/admin/user/new/",
        data=form(
            username=f"new_{role}",
            full_name="新同事",
            role=role,
            region=region,
            password=NEW_PASSWORD,
        ),
    )
    assert r.status_code == 302, body(r)[-2000:]
    user = user_named(f"new_{role}")
    assert (user.role, user.full_name, user.active) == (role, "新同事", True)
    assert user.region_id == (world.east.id if region_needed(role) else None)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    r = app.test_client().post("/login", data={"username": f"new_{role}", "password": NEW_PASSWORD})
    assert r.status_code == 302


def test_the_create_and_edit_forms_never_show_a_password(world, login_as):
    admin = login_as(world.admin)
    for url in (
        "/admin/user/new/",
        f"/admin/user/edit/?id={world.am1.id}",
        f"/admin/user/details/?id={world.am1.id}",
    ):
        r = admin.get(url)
        assert r.status_code == 200, url
        assert "argon2" not in body(r) and world.am1.password_hash not in body(r)
    assert 'type="password"' in body(admin.get(f"/admin/user/edit/?id={world.am1.id}"))
    r = admin.get("/admin/user/export/csv/")
    assert r.status_code == 200 and "argon2" not in body(r)


def test_the_admin_edits_role_region_and_name(world, login_as):
    admin = login_as(world.admin)
    r = admin.post(
        f"/admin/user/edit/?id={world.am1.id}",
        data=form(
            username="am1",
            full_name="李大区",
            role=access.REGIONAL_MANAGER,
            region=str(world.north.id),
            active="y",
        ),
    )
    assert r.status_code == 302, body(r)[-2000:]
    user = user_named("am1")
    assert (user.full_name, user.role, user.region_id, user.active) == (
        "李大区",
        access.REGIONAL_MANAGER,
        world.north.id,
        True,
    )
    assert verify_password(user.password_hash, factories.PASSWORD)  # empty field: kept
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "users",
            AuditEvent.entity_id == user.id,
            AuditEvent.action == "update",
        )
    ).all()
    assert event.actor_id == world.admin.id
    assert event.changes["role"] == [access.ACCOUNT_MANAGER, access.REGIONAL_MANAGER]
    assert event.changes["region_id"] == [world.east.id, world.north.id]


def test_a_new_password_is_set_in_its_own_field_and_recorded_masked(app, world, login_as):
    admin = login_as(world.admin)
    r = admin.post(
        f"/admin/user/edit/?id={world.finance.id}",
        data=form(
            username="finance",
            full_name="会计",
            role=access.FINANCE,
            active="y",
            password="another-pass-9",
        ),
    )
    assert r.status_code == 302, body(r)[-2000:]
    user = user_named("finance")
    assert verify_password(user.password_hash, "another-pass-9")
    [event] = [
        e
        for e in db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "users",
                AuditEvent.entity_id == user.id,
                AuditEvent.action == "update",
            )
        )
        if "password_hash" in e.changes
    ]
    assert event.changes["password_hash"] == [MASK, MASK]
    assert event.actor_id == world.admin.id
    r = app.test_client().post("/login", data={"username": "finance", "password": "another-pass-9"})
    assert r.status_code == 302


def test_disabling_a_user_is_an_edit_and_stops_their_sign_in(app, world, login_as):
    admin = login_as(world.admin)
    r = admin.post(
        f"/admin/user/edit/?id={world.clerk.id}",
        data=form(username="clerk", full_name="内勤", role=access.CLERK),
    )
    assert r.status_code == 302, body(r)[-2000:]
    assert user_named("clerk").active is False
    r = app.test_client().post("/login", data={"username": "clerk", "password": factories.PASSWORD})
    assert r.status_code == 401
    r = admin.post(
        f"/admin/user/edit/?id={world.clerk.id}",
        data=form(username="clerk", full_name="内勤", role=access.CLERK, active="y"),
    )
    assert r.status_code == 302
    assert user_named("clerk").active is True


def test_the_admin_cannot_disable_their_own_account(world, login_as):
    admin = login_as(world.admin)
    r = admin.post(
        f"/admin/user/edit/?id={world.admin.id}",
        data=form(username="admin", full_name="管理员", role=access.ADMIN),
    )
    assert r.status_code == 200
    assert user_named("admin").active is True


def test_a_taken_user_name_is_a_field_error(world, login_as):
    admin = login_as(world.admin)
    r = admin.post(
        "/admin/user/new/", data=form(username="am1", full_name="重名", password=NEW_PASSWORD)
    )
    assert r.status_code == 200
    with force_locale("zh_Hans_CN"):
        message = str(services_message("The user name %(name)s is taken.", name="am1"))
    assert message in field_errors(body(r), "username")
    assert len(db.session.scalars(select(User).where(User.username == "am1")).all()) == 1


@pytest.mark.parametrize(
    "values, field, cli_args, message",
    [
        (
            {"username": "dup", "role": access.ACCOUNT_MANAGER},
            "region",
            ["dup", "--role", access.ACCOUNT_MANAGER],
            ("The role %(role)s needs a region.", {"role": access.ROLES[access.ACCOUNT_MANAGER]}),
        ),
        (
            {"username": "shortpw", "password": "short"},
            "password",
            ["shortpw", "--role", access.FINANCE, "--password", "short"],
            ("A password has at least %(n)d characters.", {"n": 8}),
        ),
        (
            {"username": "am1"},
            "username",
            ["am1", "--role", access.FINANCE],
            ("The user name %(name)s is taken.", {"name": "am1"}),
        ),
    ],
)
def test_the_screen_and_the_cli_refuse_with_the_same_rule(
    app, world, login_as, values, field, cli_args, message
):
    admin = login_as(world.admin)
    r = admin.post("/admin/user/new/", data=form(**{"password": NEW_PASSWORD, **values}))
    assert r.status_code == 200
    with force_locale("zh_Hans_CN"):
        expected = str(services_message(message[0], **message[1]))
    assert expected in field_errors(body(r), field)
    if "--password" not in cli_args:
        cli_args = [*cli_args, "--password", NEW_PASSWORD]
    result = app.test_cli_runner().invoke(args=["crm", "create-user", *cli_args])
    assert result.exit_code != 0
    assert expected in result.output


@pytest.mark.parametrize("role", sorted(set(access.ROLES) - {access.ADMIN}))
def test_other_roles_cannot_open_or_write_the_users_screen(world, login_as, role):
    user = getattr(world, role, None) or (
        world.am1 if role == access.ACCOUNT_MANAGER else world.rm_east
    )
    c = login_as(user)
    for url in (
        "/admin/user/",
        "/admin/user/new/",
        f"/admin/user/edit/?id={user.id}",
        f"/admin/user/details/?id={user.id}",
        "/admin/user/export/csv/",
    ):
        assert c.get(url).status_code in (403, 404), url
    r = c.post(
        "/admin/user/new/", data=form(username="intruder", password=NEW_PASSWORD, role=access.ADMIN)
    )
    assert r.status_code in (403, 404)
    r = c.post(
        f"/admin/user/edit/?id={user.id}",
        data=form(username=user.username, role=access.ADMIN, active="y"),
    )
    assert r.status_code in (403, 404)
    assert user_named("intruder") is None
    assert user_named(user.username).role == role


def test_the_services_refuse_anyone_but_the_admin(app, world):
    from crm.access import set_actor
    from crm.auth import services
    from crm.errors import NotAllowed

    with app.test_request_context():
        set_actor(world.sales_manager)
        with pytest.raises(NotAllowed):
            services.create_user(db.session, "x1", NEW_PASSWORD, access.FINANCE)
        with pytest.raises(NotAllowed):
            services.update_user(db.session, world.am1, role=access.ADMIN)
        with pytest.raises(NotAllowed):
            services.deactivate_user(db.session, world.am1)
        with pytest.raises(NotAllowed):
            services.set_password(db.session, world.am1, NEW_PASSWORD)
        services.set_password(db.session, world.sales_manager, NEW_PASSWORD)  # their own
        db.session.rollback()


def services_message(msgid, **kw):
    from flask_babel import lazy_gettext

    return lazy_gettext(msgid, **kw)


def field_errors(html: str, field: str) -> str:
    """The text of the error block that follows `field`'s input on a Flask-Admin form."""
    start = html.index(f'id="{field}"')
    end = html.find('class="form-group', start)
    return html[start : end if end != -1 else len(html)]
