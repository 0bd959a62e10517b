"""Digest subscriptions: double opt-in, confirmation, one-click unsubscribe, preferences.

The functions behind ``/subscribe``, ``/unsubscribe``, ``/api/subscriptions`` and the CLI.

- Anyone may ask for digests at an address, signed in or not; nothing is mailed to it except a
  confirmation until its owner opens the confirmation link (48 h). A signed-in requester's
  account is linked, so saved searches and recommendations can be included; otherwise an
  account with the same address is linked on confirmation (the confirmer owns that address).
- :func:`subscribe` answers the same whatever the address's state, so the form cannot be used to
  learn who is subscribed. An address already subscribed gets a mail with its preferences link
  instead of a confirmation, and its preferences are not changed by the request. At most one
  such mail per address per :data:`RESEND_INTERVAL`, so the form cannot flood an inbox.
- Unsubscribing needs only the signed link from a digest (no sign-in) and takes effect at once:
  a digest run checks the subscription when it claims each delivery. It also bumps the
  subscription's ``token_version``, which voids every link in earlier mails.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from papersift.mail.compose import Composer, Outgoing
from papersift.mail.content import CONTENT_KINDS
from papersift.mail.tokens import TokenError
from papersift.service.accounts import AccountError, Principal, normalize_email
from papersift.service.catalog import Catalog
from papersift.store import subscriptions as db
from papersift.store.schema import Subscription, utcnow

log = logging.getLogger(__name__)

RESEND_INTERVAL = timedelta(minutes=10)
DEFAULT_CONTENT = ["trending", "daily"]
MAX_TAGS = 3
Frequency = Literal["daily", "weekly"]
ContentKind = Literal["trending", "daily", "searches", "recommendations"]
State = Literal["unconfirmed", "active", "unsubscribed"]

__all__ = ["TokenError"]


class SubscriptionOut(BaseModel):
    email: str
    state: State
    frequency: Frequency
    content: list[ContentKind]
    tags: list[str] = Field(default_factory=list, description="tags recommendations follow")
    account: str | None = Field(None, description="the linked account's username, if any")
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


_composers: weakref.WeakKeyDictionary[Catalog, Composer] = weakref.WeakKeyDictionary()


def composer(catalog: Catalog) -> Composer:
    c = _composers.get(catalog)
    if c is None:
        c = _composers[catalog] = Composer(catalog.settings)
    return c


def _state(sub: Subscription) -> State:
    if sub.unsubscribed_at is not None:
        return "unsubscribed"
    return "active" if sub.confirmed_at is not None else "unconfirmed"


def _out(catalog: Catalog, sub: Subscription) -> SubscriptionOut:
    account = None
    if sub.user_id is not None:
        with catalog.store.session() as s:
            account = db.users(s, [sub.user_id]).get(sub.user_id, (None, False))[0]
    return SubscriptionOut(
        email=sub.email,
        state=_state(sub),
        frequency=sub.frequency,  # type: ignore[arg-type]
        content=list(sub.content or []),  # type: ignore[arg-type]
        tags=list((sub.options or {}).get("tags") or []),
        account=account,
        confirmed_at=sub.confirmed_at,
        unsubscribed_at=sub.unsubscribed_at,
    )


def _frequency(value: str) -> str:
    if value not in ("daily", "weekly"):
        raise AccountError(f"frequency is daily or weekly, not {value[:20]!r}")
    return value


def _content(values: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(values)) if values is not None else list(DEFAULT_CONTENT)
    unknown = [c for c in chosen if c not in CONTENT_KINDS]
    if unknown:
        raise AccountError(f"unknown digest content {unknown[0][:30]!r} (one of {CONTENT_KINDS})")
    if not chosen:
        raise AccountError("choose at least one thing for the digest to carry")
    return [c for c in CONTENT_KINDS if c in chosen]


def _tags(values: Iterable[str] | None) -> list[str]:
    tags = [t.strip()[:100] for t in values or [] if t and t.strip()]
    return list(dict.fromkeys(tags))[:MAX_TAGS]


# -- subscribing --------------------------------------------------------------------------------
def subscribe(
    catalog: Catalog,
    email: str,
    *,
    frequency: str = "daily",
    content: Iterable[str] | None = None,
    who: Principal | None = None,
    now: datetime | None = None,
) -> Outgoing | None:
    """Ask for digests at ``email``; returns the mail to send, or None when rate-limited.

    Callers must answer the same whatever this returns (see the module docstring).
    """
    email = normalize_email(email)
    frequency = _frequency(frequency)
    chosen = _content(content)
    now = now or utcnow()
    with catalog.store.session() as s:
        sub = db.by_email(s, email)
        if sub is None:
            sub = db.add(
                s, email=email, frequency=frequency, content=chosen, options={},
                user_id=who.id if who else None, now=now,
            )  # fmt: skip
        already = sub.confirmed_at is not None and sub.unsubscribed_at is None
        if not already:  # nobody receives anything yet: the latest request's choices stand
            sub.frequency, sub.content = frequency, chosen
            if who is not None:
                sub.user_id = who.id
        if sub.confirm_sent_at is not None and now - sub.confirm_sent_at < RESEND_INTERVAL:
            return None
        sub.confirm_sent_at = now
        sub_id, version = sub.id, sub.token_version
        frequency, chosen = sub.frequency, list(sub.content)
    return composer(catalog).confirmation(
        subscription_id=sub_id, version=version, email=email, frequency=frequency,
        content=chosen, already=already, now=now,
    )  # fmt: skip


def send_mail(catalog: Catalog, out: Outgoing | None) -> bool:
    """Send a confirmation mail (from a background task): failures are logged, not raised."""
    from papersift.mail.delivery import send_one
    from papersift.mail.smtp import SendError

    if out is None:
        return False
    try:
        send_one(catalog, out)
    except SendError as exc:
        log.warning("could not send the confirmation mail to %s: %s", out.to, exc)
        return False
    return True


def confirm(catalog: Catalog, token: str, *, now: datetime | None = None) -> SubscriptionOut:
    """Open a confirmation link: the subscription becomes active (idempotent)."""
    t = composer(catalog).signer.read("confirm", token)
    now = now or utcnow()
    with catalog.store.session() as s:
        sub = db.by_id(s, t.subscription_id)
        if sub is None or sub.email != t.email or sub.token_version != t.version:
            raise TokenError("this confirmation link is no longer valid; subscribe again")
        if sub.confirmed_at is None or sub.unsubscribed_at is not None:
            sub.confirmed_at, sub.unsubscribed_at = now, None
        if sub.user_id is None:
            sub.user_id = db.user_id_for_email(s, sub.email)
    return _out(catalog, sub)


# -- unsubscribing and preferences --------------------------------------------------------------
def unsubscribe(catalog: Catalog, token: str, *, now: datetime | None = None) -> SubscriptionOut:
    """One-click unsubscribe: immediate, no sign-in; repeating it is harmless."""
    t = composer(catalog).signer.read("unsubscribe", token)
    with catalog.store.session() as s:
        sub = db.by_id(s, t.subscription_id)
        if sub is None:
            raise TokenError("this unsubscribe link is not valid")
        if sub.token_version != t.version:
            if sub.unsubscribed_at is not None:
                return _out(catalog, sub)  # already unsubscribed: say so again
            raise TokenError(
                "this link is from an earlier subscription of this address; use the link in "
                "your latest digest"
            )
        if sub.unsubscribed_at is None:
            sub.unsubscribed_at = now or utcnow()
            sub.token_version += 1  # voids the links of every earlier mail
    return _out(catalog, sub)


def _managed(catalog: Catalog, token: str) -> int:
    t = composer(catalog).signer.read("manage", token)
    with catalog.store.session() as s:
        sub = db.by_id(s, t.subscription_id)
        if sub is None or sub.token_version != t.version or sub.unsubscribed_at is not None:
            raise TokenError("this preferences link no longer works (unsubscribed since?)")
        return sub.id


def preferences(catalog: Catalog, token: str) -> SubscriptionOut:
    sub_id = _managed(catalog, token)
    with catalog.store.session() as s:
        sub = db.by_id(s, sub_id)
        assert sub is not None
    return _out(catalog, sub)


def update_preferences(
    catalog: Catalog,
    token: str,
    *,
    frequency: str | None = None,
    content: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> SubscriptionOut:
    """Change how often and what; a change of frequency applies from the next period."""
    sub_id = _managed(catalog, token)
    with catalog.store.session() as s:
        sub = db.by_id(s, sub_id)
        assert sub is not None
        if frequency is not None:
            sub.frequency = _frequency(frequency)
        if content is not None:
            sub.content = _content(content)
        if tags is not None:
            sub.options = {**(sub.options or {}), "tags": _tags(tags)}
    return _out(catalog, sub)


def unsubscribe_token(catalog: Catalog, manage_token: str) -> str:
    """The unsubscribe token of the subscription a preferences link manages (for its page)."""
    sub_id = _managed(catalog, manage_token)
    with catalog.store.session() as s:
        sub = db.by_id(s, sub_id)
        assert sub is not None
        return composer(catalog).signer.make("unsubscribe", sub.id, sub.token_version)


def manage_token_for_confirm(catalog: Catalog, confirm_token: str) -> str:
    """The preferences token of the subscription a (valid) confirmation link confirmed."""
    t = composer(catalog).signer.read("confirm", confirm_token)
    return composer(catalog).signer.make("manage", t.subscription_id, t.version)


def check_token(
    catalog: Catalog, purpose: Literal["confirm", "unsubscribe", "manage"], token: str
) -> None:
    """Raise :class:`TokenError` unless ``token`` is a well-signed, unexpired ``purpose`` token."""
    composer(catalog).signer.read(purpose, token)


def account_email(catalog: Catalog, who: Principal) -> str:
    """The signed-in user's address, to prefill the subscribe form."""
    from papersift.store.accounts import user_by_id

    with catalog.store.session() as s:
        user = user_by_id(s, who.id)
        return user.email if user is not None else ""


def listing(catalog: Catalog, limit: int = 1000) -> list[db.SubscriptionRow]:
    with catalog.store.session() as s:
        return db.listing(s, limit)
