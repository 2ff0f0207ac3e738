"""The list's per-row buttons (view, edit, delete) from strings prepared once per page.

Flask-Admin renders them with three Jinja macros a row, each building its URL with url_for:
about a fifth of a list request's CPU. Here each button's HTML is built once per page with a
placeholder for the row's id, and a row only puts its id in. The markup is the same as
Flask-Admin's (and crm/templates/admin/model/row_actions.html's delete form, whose
confirmation is a data attribute for the Content-Security-Policy), less the `id` attributes
the hidden inputs repeated on every row. Views with other row actions keep the macros.
"""

from urllib.parse import quote

from flask import current_app
from flask_admin.babel import gettext as admin_gettext
from flask_admin.model.template import DeleteRowAction, EditRowAction, ViewRowAction
from markupsafe import Markup, escape

_ID = "0crm0row0id0"  # stands for the row's id while a button is built (survives url_for)
FAST = (ViewRowAction, EditRowAction, DeleteRowAction)


def _link(title, icon: str, url: str) -> str:
    return (
        f'<a class="icon" href="{escape(url)}" title="{escape(title or "")}">'
        f'<span class="{icon}"></span></a>'
    )


class RowButtons:
    """row_buttons(row_id) → the buttons of that row (Markup)."""

    def __init__(self, parts: list[str]):
        self.parts = parts

    def __call__(self, row_id) -> Markup:
        rid = str(escape(quote(str(row_id), safe="")))
        return Markup("".join(p.replace(_ID, rid) for p in self.parts))

    @classmethod
    def for_page(cls, view, actions, return_url: str, delete_form) -> "RowButtons | None":
        """None when a row action is not one of Flask-Admin's view/edit/delete links (the
        template then renders them as Flask-Admin does)."""
        if any(type(a) not in FAST for a in actions or ()):
            return None
        parts = []
        for action in actions or ():
            if type(action) is ViewRowAction:
                parts.append(
                    _link(
                        action.title,
                        "fa fa-eye glyphicon glyphicon-eye-open",
                        view.get_url(".details_view", id=_ID, url=return_url),
                    )
                )
            elif type(action) is EditRowAction:
                parts.append(
                    _link(
                        action.title,
                        "fa fa-pencil glyphicon glyphicon-pencil",
                        view.get_url(".edit_view", id=_ID, url=return_url),
                    )
                )
            else:
                parts.append(_delete_form(view, return_url, delete_form))
        return cls(parts)


def _delete_form(view, return_url: str, delete_form) -> str:
    token = getattr(delete_form, "csrf_token", None) if delete_form is not None else None
    if token:
        csrf = str(token)
    else:
        make = current_app.jinja_env.globals.get("csrf_token")
        csrf = (
            f'<input type="hidden" name="csrf_token" value="{escape(make())}"/>'
            if callable(make)
            else ""
        )
    confirm = admin_gettext("Are you sure you want to delete this record?")
    return (
        f'<form class="icon" method="POST" action="{escape(view.get_url(".delete_view"))}">'
        f'<input name="id" type="hidden" value="{_ID}">'
        f'<input name="url" type="hidden" value="{escape(return_url)}">{csrf}'
        f'<button data-crm-confirm="{escape(confirm)}" '
        f'title="{escape(admin_gettext("Delete Record"))}">'
        f'<span class="fa fa-trash glyphicon glyphicon-trash"></span></button></form>'
    )
