"""Sign-up, sign-in, sessions and API tokens: the one place that decides who a request is.

Passwords are hashed with argon2 (argon2-cffi's defaults, re-hashed when those change); session
cookies and API tokens are random 256-bit secrets stored only as sha256 digests.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from papersift.service.catalog import Catalog
from papersift.store import accounts as db
from papersift.store.schema import User, utcnow

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,38}$")
EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,255}\.[^@\s<>\"]{1,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a cap stops a megabyte "password" costing CPU
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong email costs the same time as a
# wrong password and response times do not reveal which addresses have accounts.
_DUMMY_HASH = _hasher.hash("papersift-timing-equaliser")


class AccountError(ValueError):
    """Sign-up or sign-in input that cannot be accepted; the message is safe to show."""


class Unauthorized(PermissionError):
    """No valid credentials were presented."""


class Forbidden(PermissionError):
    """Valid credentials, but not allowed to do this."""


class UserOut(BaseModel):
    id: int
    username: str
    is_admin: bool


@dataclass(frozen=True)
class Principal:
    """Who is acting: the authenticated user, as every service function receives them."""

    id: int
    username: str
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(id=user.id, username=user.username, is_admin=user.is_admin)

    def out(self) -> UserOut:
        return UserOut(id=self.id, username=self.username, is_admin=self.is_admin)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip()
    if not EMAIL.match(email):
        raise AccountError(f"not an email address: {email[:80]!r}")
    # Local parts are case-sensitive by the letter of RFC 5321 but not in practice; treating
    # Alice@ and alice@ as two accounts would only let someone squat a look-alike address.
    return email.lower()


def sign_up(catalog: Catalog, username: str, email: str, password: str) -> Principal:
    """Create an account. The first account on a server becomes its admin."""
    if not catalog.settings.allow_signup:
        raise AccountError("sign-up is closed on this server")
    username = username.strip()
    if not USERNAME.match(username):
        raise AccountError(
            "a username is 2-39 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    email = normalize_email(email)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    hashed = _hasher.hash(password)
    try:
        with catalog.store.session() as s:
            if db.user_by_username(s, username) is not None:
                raise AccountError(f"the username {username!r} is taken")
            if db.user_by_email(s, email) is not None:
                raise AccountError("an account with that email address exists; sign in instead")
            first = db.count_users(s) == 0
            user = db.add_user(
                s, username=username, email=email, password_hash=hashed, is_admin=first
            )
            return Principal.of(user)
    except IntegrityError as exc:  # a concurrent sign-up took the name between check and insert
        raise AccountError("that username or email address is taken") from exc


def authenticate(catalog: Catalog, login: str, password: str) -> Principal:
    """Check a username-or-email and password; the same error for every failure."""
    failure = AccountError("wrong username/email or password")
    if len(password) > MAX_PASSWORD:
        raise failure
    with catalog.store.session() as s:
        login = login.strip()
        user = (
            db.user_by_email(s, normalize_email(login))
            if "@" in login and EMAIL.match(login)
            else db.user_by_username(s, login)
        )
        stored = user.password_hash if user is not None and user.password_hash else None
        try:
            _hasher.verify(stored or _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise failure from None
        if user is None or stored is None:
            raise failure
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return Principal.of(user)


def set_admin(catalog: Catalog, username: str, is_admin: bool = True) -> None:
    with catalog.store.session() as s:
        user = db.user_by_username(s, username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        user.is_admin = is_admin


# -- browser sessions ---------------------------------------------------------------------------
def start_session(catalog: Catalog, who: Principal) -> str:
    """A new session; returns the cookie value (the only copy of the secret)."""
    key = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=catalog.settings.session_days)
    with catalog.store.session() as s:
        db.add_session(s, who.id, digest(key), expires)
    return key


def session_user(
    catalog: Catalog, key: str | None, now: datetime | None = None
) -> Principal | None:
    if not key or len(key) > 200:
        return None
    with catalog.store.session() as s:
        user = db.user_for_session(s, digest(key), now or utcnow())
        return Principal.of(user) if user is not None else None


def end_session(catalog: Catalog, key: str | None) -> None:
    if key:
        with catalog.store.session() as s:
            db.drop_session(s, digest(key))


# -- API tokens ---------------------------------------------------------------------------------
class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked: bool = False


class NewTokenOut(TokenOut):
    token: str


TOKEN_PREFIX = "ps_"


def create_token(catalog: Catalog, who: Principal, name: str = "") -> NewTokenOut:
    """A new API token for ``who``; shown once, stored as a digest."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.store.session() as s:
        row = db.add_token(
            s, who.id, name=name.strip()[:100], token_hash=digest(token), prefix=token[:10]
        )
        return NewTokenOut(
            id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at, token=token
        )


def list_tokens(catalog: Catalog, who: Principal) -> list[TokenOut]:
    with catalog.store.session() as s:
        return [
            TokenOut(
                id=t.id,
                name=t.name,
                prefix=t.prefix,
                created_at=t.created_at,
                last_used_at=t.last_used_at,
                revoked=t.revoked_at is not None,
            )
            for t in db.tokens_of(s, who.id)
        ]


def revoke_token(catalog: Catalog, who: Principal, token_id: int) -> None:
    with catalog.store.session() as s:
        if not db.revoke_token(s, who.id, token_id):
            raise LookupError(f"no active token {token_id} of yours")


def token_user(catalog: Catalog, token: str | None) -> Principal | None:
    if not token or len(token) > 200:
        return None
    with catalog.store.session() as s:
        user = db.user_for_token(s, digest(token))
        return Principal.of(user) if user is not None else None
