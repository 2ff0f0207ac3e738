from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from crm.auth.services import PasswordRefused, authenticate, sign_out
from crm.errors import DomainError
from crm.extensions import db
from crm.urls import referrer_path, safe_target

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                db.session, form.username.data.strip(), form.password.data, request.remote_addr
            )
        except DomainError as exc:
            g.crm_password_refused = isinstance(exc, PasswordRefused)  # crm.auth.throttle
            db.session.commit()  # keep the failure count and its audit event
            flash(str(exc.message), "error")
            status = 401
        else:
            db.session.commit()
            login_user(user)
            return redirect(safe_target(request.args.get("next"), url_for("admin.index")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ends every session of the user, not only this cookie: a copy made before still fails.
    sign_out(db.session, current_user._get_current_object())
    db.session.commit()
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
    return redirect(safe_target(referrer_path(request.referrer), url_for("admin.index")))


@bp.errorhandler(429)
def too_many_requests(exc):
    """Flask-Limiter's answer (crm.auth.throttle): the sign-in page again, with the reason."""
    flash(
        _("Too many sign-in attempts from here. Please wait a few minutes and try again."), "error"
    )
    return render_template("auth/login.html", form=LoginForm(formdata=None)), 429
