from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from crm.auth.services import authenticate
from crm.errors import DomainError
from crm.extensions import db

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site. Browsers read "/\\host" as "//host" and drop tabs and newlines
    inside a URL, so those are refused along with anything naming a scheme or a host."""
    if (target and target.startswith("/") and "\\" not in target and target.isprintable()
            and not urlsplit(target).netloc and not urlsplit(target).scheme):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(db.session, form.username.data.strip(), form.password.data)
        except DomainError as exc:
            db.session.commit()  # keep the failure count and its audit event
            flash(str(exc.message), "error")
            status = 401
        else:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/locale/<code>", methods=["POST"])
@login_required
def set_locale(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    current_user.locale = code
    db.session.commit()
    return redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))
