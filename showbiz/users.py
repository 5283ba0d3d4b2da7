"""Accounts: creating users, checking passwords, slowing down guessing."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from .db import db, transaction
from .models import LoginFailure, User, utcnow
from .text import InvalidInput, check_email, clean_text

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): strong, and cheap
# enough on memory that a burst of sign-ins cannot exhaust a small server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("a password nobody has")
MIN_PASSWORD_LENGTH = 12


class TooManyAttempts(Exception):
    """Sign-in refused for a while after too many failures."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def check_password_strength(password: str | None) -> str:
    """Refuse passwords too short to resist guessing."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.",
                           "password")
    return password


def create_user(email: str, password: str, *, name: str = "", is_admin: bool = False) -> User:
    """Add a user; the e-mail must be new."""
    email = check_email(email)
    name = clean_text(name, field="name", label="Name", max_length=200)
    check_password_strength(password)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise InvalidInput(f"A user with the e-mail {email} already exists.", "email")
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    return user


def add_user(email: str, password: str, *, name: str = "", is_admin: bool = False) -> User:
    """Add a user in its own transaction (the command line's `user add`)."""
    with transaction():
        return create_user(email, password, name=name, is_admin=is_admin)


def user_by_email(email: str) -> User | None:
    """The user with this e-mail, if any."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str, address: str, limits: dict) -> User | None:
    """Return the user if the password is right; record failures; raise when limits are hit.
    One write transaction: a failure is recorded, a success clears the account's failures."""
    with transaction():
        return _authenticate(email, password, address, limits)


def _authenticate(email: str, password: str, address: str, limits: dict) -> User | None:
    email = (email or "").strip().lower()[:254]
    _check_limits(email, address, limits)
    user = user_by_email(email) if email else None
    # Verify against a dummy hash for unknown e-mails so timing does not reveal who has an account.
    if _verify(user.password_hash if user else _DUMMY_HASH, password or "") and user:
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
        return user
    db.session.add(LoginFailure(email=email, address=address))
    return None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_limits(email: str, address: str, limits: dict) -> None:
    """Raise TooManyAttempts when this account or this address failed too often lately."""
    since = utcnow() - timedelta(seconds=limits["window"])
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
    by_account = db.session.scalar(recent.where(LoginFailure.email == email))
    by_address = db.session.scalar(recent.where(LoginFailure.address == address))
    if by_account >= limits["per_account"] or by_address >= limits["per_address"]:
        raise TooManyAttempts()
    old = utcnow() - timedelta(seconds=limits["window"] * 2)
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < old))
