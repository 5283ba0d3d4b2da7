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
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.ctx import _AppCtxGlobals
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
    """Flask's signed-cookie session, with the signing serializer made once per secret key
    instead of on every request."""

    _serializers: dict = {}

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None and app.secret_key:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        if "HTTP_COOKIE" not in request.environ:  # most listeners: nothing to read or verify
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        """As Flask does, for requests that read the session: one that never did (a feed, a
        public file; g.user is loaded lazily) leaves the cookie alone, so the answer is the
        same for everyone and carries neither Set-Cookie nor "Vary: Cookie"."""
        if session.accessed and request.endpoint not in ANONYMOUS_ENDPOINTS:
            super().save_session(app, session, response)


class _Globals(_AppCtxGlobals):
    """Flask's `g`, where `g.user` (the signed-in user, or None) is loaded the first time a
    view, a template or the access checks ask for it, not before every request: a feed poll
    or a public media range never reads the session or queries for the user."""

    def __getattr__(self, name: str):
        if name != "user":
            return super().__getattr__(name)
        user = _load_user() if has_request_context() else None
        self.user = user
        return user


def login_manager_init(app: Flask) -> None:
    """Flask's session and `g` with the user loaded on first use; CSRF checked on unsafe
    methods only."""
    app.config.setdefault("SESSION_REFRESH_EACH_REQUEST", False)
    app.session_interface = _SessionInterface()
    app.app_ctx_globals_class = _Globals
    # Flask-WTF's own hook looks up exemptions before it looks at the method; this one asks
    # the same protect() only for the methods it guards (POST, PUT, PATCH, DELETE).
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_csrf_protect)


def _csrf_protect() -> None:
    config = current_app.config
    if request.method in config["WTF_CSRF_METHODS"] and config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)


def _fingerprint(user: User) -> str:
    """Changes when the password changes, so old sessions stop working."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


# Answered the same for everyone; reading the session would add "Vary: Cookie" and defeat caches.
ANONYMOUS_ENDPOINTS = {"public.feed", "static"}


def _load_user() -> User | None:
    """The user the session is signed in as, if its password has not changed since."""
    if request.endpoint in ANONYMOUS_ENDPOINTS:
        return None
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is not None and session.get("auth") == _fingerprint(user):
        return user
    return None


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

