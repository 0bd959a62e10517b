"""Users, API tokens and browser sessions in SQL; secrets arrive here already hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papersift.store.schema import ApiToken, User, WebSession, utcnow


def add_user(
    s: Session, *, username: str, email: str, password_hash: str | None, is_admin: bool = False
) -> User:
    user = User(username=username, email=email, password_hash=password_hash, is_admin=is_admin)
    s.add(user)
    s.flush()
    return user


def user_by_id(s: Session, user_id: int) -> User | None:
    return s.get(User, user_id)


def user_by_email(s: Session, email: str) -> User | None:
    return s.scalar(select(User).where(User.email == email))


def user_by_username(s: Session, username: str) -> User | None:
    return s.scalar(select(User).where(func.lower(User.username) == username.lower()))


def count_users(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(User)) or 0


def add_token(s: Session, user_id: int, *, name: str, token_hash: str, prefix: str) -> ApiToken:
    token = ApiToken(user_id=user_id, name=name, token_hash=token_hash, prefix=prefix)
    s.add(token)
    s.flush()
    return token


def user_for_token(s: Session, token_hash: str) -> User | None:
    token = s.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        return None
    token.last_used_at = utcnow()
    return s.get(User, token.user_id)


def tokens_of(s: Session, user_id: int) -> list[ApiToken]:
    return list(
        s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )


def revoke_token(s: Session, user_id: int, token_id: int) -> bool:
    """Only the owner's own token: the user id is part of the lookup, not checked after it."""
    token = s.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def add_session(s: Session, user_id: int, key_hash: str, expires_at: datetime) -> None:
    s.add(WebSession(key_hash=key_hash, user_id=user_id, expires_at=expires_at))


def user_for_session(s: Session, key_hash: str, now: datetime) -> User | None:
    row = s.get(WebSession, key_hash)
    if row is None or row.expires_at <= now:
        return None
    return s.get(User, row.user_id)


def drop_session(s: Session, key_hash: str) -> None:
    s.execute(delete(WebSession).where(WebSession.key_hash == key_hash))


def drop_expired_sessions(s: Session, now: datetime) -> int:
    result = s.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
