"""Sign-in, sign-out and the signed-in user."""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from ..db import db
from ..models import User
from ..urls import safe_next
from ..users import TooManyAttempts, authenticate

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
FAILED = "That e-mail and password do not match an account."


class _SessionInterface(SecureCookieSessionInterface):
    """Leaves responses meant for everyone untouched: no cookie, no "Vary: Cookie"."""

    def save_session(self, app, session, response) -> None:
        if request.endpoint not in ANONYMOUS_ENDPOINTS:
            super().save_session(app, session, response)


def login_manager_init(app: Flask) -> None:
    """Load the signed-in user before each request."""
    app.config.setdefault("SESSION_REFRESH_EACH_REQUEST", False)
    app.session_interface = _SessionInterface()
    app.before_request(_load_user)


def _fingerprint(user: User) -> str:
    """Changes when the password changes, so old sessions stop working."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


# Answered the same for everyone; reading the session would add "Vary: Cookie" and defeat caches.
ANONYMOUS_ENDPOINTS = {"public.feed", "static"}


def _load_user() -> None:
    g.user = None
    if request.endpoint in ANONYMOUS_ENDPOINTS:
        return
    user_id = session.get("user_id")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and session.get("auth") == _fingerprint(user):
            g.user = user


def login_required(view):
    """Send anonymous visitors to the sign-in page, then back."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a correct e-mail and password."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, email="")
    email = request.form.get("email", "")
    limits = {"per_account": current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
              "per_address": current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
              "window": current_app.config["LOGIN_LIMIT_WINDOW_SECONDS"]}
    try:
        user = authenticate(email, request.form.get("password", ""),
                            request.remote_addr or "unknown", limits)
    except TooManyAttempts:
        message = "Too many failed attempts. Wait a few minutes and try again."
        return render_template("auth/login.html", next=next_url, email=email,
                               error=message), 429
    if user is None:
        return render_template("auth/login.html", next=next_url, email=email, error=FAILED)
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    session.permanent = True
    session.update(user_id=user.id, auth=_fingerprint(user))
    return redirect(safe_next(next_url))


@bp.post("/logout")
def logout():
    """Sign out."""
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("public.home"))

