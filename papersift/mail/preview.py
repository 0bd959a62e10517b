"""One subscriber's digest as it would be sent now, without sending or recording anything."""

from __future__ import annotations

from datetime import date, timedelta
from email import message_from_bytes, policy

from papersift.mail import content
from papersift.mail.delivery import DigestRun
from papersift.mail.periods import period_of
from papersift.service.accounts import AccountError, normalize_email
from papersift.service.catalog import Catalog
from papersift.store import deliveries
from papersift.store import subscriptions as db


class PreviewError(LookupError):
    pass


def preview_digest(catalog: Catalog, email: str, day: date | None = None) -> tuple[str, str]:
    """(text part, HTML part) of the digest ``email`` gets for the period containing ``day``.

    Works for any subscription, confirmed or not, and also when there is nothing new (the
    "nothing new" digest that ``digest_skip_empty=false`` would send).
    """
    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise PreviewError(str(exc)) from None
    run = DigestRun(catalog, dry_run=True)
    with catalog.store.session() as s:
        sub = db.by_email(s, email)
        if sub is None:
            raise PreviewError(f"no subscription for {email}")
        row = deliveries.DueRow(
            id=sub.id,
            email=sub.email,
            user_id=sub.user_id,
            content=list(sub.content or []),
            options=dict(sub.options or {}),
            token_version=sub.token_version,
        )
        wants = [sub.user_id] if sub.user_id is not None else []
        hist = deliveries.history(s, [sub.id], run.now - timedelta(days=content.HISTORY_DAYS))
        users = db.users(s, wants)
        searches = db.saved_searches(s, wants)
    period = period_of(day or run.now.date(), sub.frequency)  # type: ignore[arg-type]
    h = hist.get(sub.id)
    digest = content.compose(
        run.subscriber(row, users, searches),
        period,
        run.shared(period),
        run.sources,
        h.sent_ids if h else set(),
        h.last_sent_at if h else None,
    )
    out = run.composer.digest(
        subscription_id=sub.id, version=sub.token_version, email=sub.email, digest=digest,
        now=run.now,
    )  # fmt: skip
    msg = message_from_bytes(out.data, policy=policy.default)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return (
        text.get_content() if text is not None else "",
        html.get_content() if html is not None else "",
    )
