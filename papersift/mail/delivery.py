"""One digest run: compose for every subscriber due, claim, send, record. Safe to repeat.

The protocol, per subscriber and period (``digest_deliveries`` has one row per pair):

1. Compose the digest (nothing written yet).
2. **Claim** the row and **commit**: insert it, or take over an unfinished one by a
   compare-and-set UPDATE (status pending/failed, lease expired or its holder dead, backoff
   elapsed). The claim stores the Message-ID (deterministic: subscription + period), the paper
   ids, ``claimed_by`` (``host:pid:nonce``) and ``claimed_until`` (now + lease). A subscription
   unsubscribed by then is released unsent.
3. **Send** over SMTP.
4. **Mark** the row sent (or failed, with the error and the time of the next attempt) and
   **commit**; the UPDATE only applies while this run still holds the claim.

The guarantee (the README states it too): *each subscriber gets at most one digest per period,
and every subscriber who is due gets one once a run completes* (unless SMTP refuses it, see
below), with one exception: if a run dies after the SMTP server accepted a message (its 250
reply) and before step 4 committed, the next run finds the row still pending and sends the same
message again, with the same Message-ID, by which many receiving systems and mail clients
recognise it as a duplicate. That affects at most one message per crashed process. A crash
anywhere else loses nothing and sends nothing twice: before the claim commits, nothing was
recorded or sent; between the claim and the 250, nothing was delivered and the next run sends
it.

A pending row is taken over once its lease (``digest_lease_seconds``) has expired or, on the
same host, as soon as its holder's process no longer exists, so a re-run right after a crash
does not wait. Two runs at once (cron and the scheduler in ``serve``) both compose, but the
claim lets exactly one of them send each digest. A claim is held for one SMTP transaction,
which the SMTP timeout (``smtp_timeout`` per command, 30 s) keeps far below the lease (10 min);
only a process frozen mid-send for longer than the lease could be overtaken, and then both
would send (the late one finds its "sent" UPDATE matching nothing and reports it).

Failures: a refused recipient or message (any 4xx/5xx) and a connection lost during the message
data are recorded on the row (``attempts``, ``last_error``) and retried by later runs with
exponential backoff (15 min doubling, at most 12 h) up to :data:`MAX_ATTEMPTS`; they never stop
the run. A server that cannot be reached :data:`MAX_UNREACHABLE` times in a row stops it.
Failed deliveries of earlier periods (up to :data:`RETRY_WINDOW` old) are retried too. Periods
for which no run happened at all are not backfilled (``--date`` does that on purpose).

Testing hook: ``PAPERSIFT_DIGEST_FAULT`` (papersift.mail.faults) makes the process exit abruptly
right after a claim or an SMTP acceptance, which is how the tests kill a run at the worst moment.

Around this module: :func:`papersift.mail.sharding.send_digests` starts runs (one here, or one
per worker process); papersift.mail.claims tells whether a claim's holder is still alive and
computes the backoff; papersift.store.deliveries has the SQL of the delivery log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from papersift.mail import content
from papersift.mail.claims import backoff, mark_done, mark_running, new_owner, takeable
from papersift.mail.compose import Composer, Outgoing
from papersift.mail.faults import fault_from_env
from papersift.mail.periods import FREQUENCIES, Period, parse_period, period_of
from papersift.mail.report import RunReport
from papersift.mail.smtp import Rejected, SendError, SmtpTransport, Transport, Unreachable
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.store import deliveries, subscriptions
from papersift.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_WINDOW = timedelta(days=7)
MAX_UNREACHABLE = 3
BATCH = 500
Progress = Callable[[int, int], None]  # (done, total)


class _Abort(Exception):
    pass


class DigestRun:
    """Everything one run shares: settings, composer, shared sections, transport, counters."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
        transport: Transport | None = None,
        progress: Progress | None = None,
        shard: deliveries.Shard | None = None,
    ) -> None:
        self.catalog = catalog
        self.shard = shard
        self.settings = catalog.settings
        self.now = now or utcnow()
        self._started = time.monotonic()
        self.dry_run = dry_run
        self.composer = Composer(self.settings)
        self.sources = content.UserSources(catalog, self.composer.links)
        self._transport = transport
        self._own_transport = transport is None
        self.progress = progress
        self.owner = new_owner()
        self.lease = timedelta(seconds=self.settings.digest_lease_seconds)
        self._shared: dict[str, dict[str, content.Section]] = {}
        self._unreachable = 0
        self._done = 0
        self._total = 0
        self._fault = fault_from_env()
        self.report = RunReport(periods=[], dry_run=dry_run)

    # -- the run ------------------------------------------------------------------------------
    def run(self, day: date | None = None, frequencies: tuple[str, ...] = FREQUENCIES) -> RunReport:
        started = time.perf_counter()
        day = day or self.now.date()
        periods = [period_of(day, f) for f in frequencies]  # type: ignore[arg-type]
        self.report.periods = [p.key for p in periods]
        mark_running(self.owner)
        try:
            with self.catalog.store.session() as s:
                self._total = sum(
                    deliveries.due_count(s, p.frequency, p.key, self.shard) for p in periods
                )
            self.report.due = self._total
            for period in periods:
                self._period(period)
            self._retries({p.key for p in periods})
        except _Abort as exc:
            self.report.aborted = str(exc)
        finally:
            mark_done(self.owner)
            if self._transport is not None and self._own_transport:
                self._transport.close()
        self.report.renders = self.composer.renders
        self.report.searches = self.sources.searches_run
        self.report.recommendations = self.sources.recommendations_run
        self.report.seconds = time.perf_counter() - started
        return self.report

    def shared(self, period: Period) -> dict[str, content.Section]:
        sections = self._shared.get(period.key)
        if sections is None:
            sections = self._shared[period.key] = content.shared_sections(
                self.catalog, period, self.composer.links
            )
        return sections

    def _period(self, period: Period) -> None:
        after = 0
        while True:
            with self.catalog.store.session() as s:
                rows = deliveries.due_batch(
                    s, period.frequency, period.key, after_id=after, limit=BATCH, shard=self.shard
                )
            if not rows:
                return
            after = rows[-1].id
            self._batch(period, rows)

    def _retries(self, current: set[str]) -> None:
        with self.catalog.store.session() as s:
            due = deliveries.retries_due(
                s, self.now, created_after=self.now - RETRY_WINDOW, skip_periods=current
            )
            if self.shard is not None:
                due = [(i, key) for i, key in due if i % self.shard[1] == self.shard[0]]
            rows = [(key, deliveries.due_for(s, sub_id, key)) for sub_id, key in due]
        by_period: dict[str, list[deliveries.DueRow]] = {}
        for key, row in rows:
            if row is not None:
                by_period.setdefault(key, []).append(row)
        for key, batch in by_period.items():
            self._total += len(batch)
            self.report.due += len(batch)
            self.report.retried_earlier += len(batch)
            self._batch(parse_period(key), batch)

    # -- one batch of subscribers -------------------------------------------------------------
    def _batch(self, period: Period, rows: list[deliveries.DueRow]) -> None:
        ids = [r.id for r in rows]
        wants_user = [
            r.user_id
            for r in rows
            if r.user_id is not None and {"searches", "recommendations"} & set(r.content)
        ]
        with self.catalog.store.session() as s:
            hist = deliveries.history(s, ids, self.now - timedelta(days=content.HISTORY_DAYS))
            users = subscriptions.users(s, wants_user)
            searches = subscriptions.saved_searches(s, wants_user)
        shared = self.shared(period)
        self.sources.prefetch(q for rows_ in searches.values() for _, _, q in rows_)
        empties: list[tuple[deliveries.DueRow, str | None]] = []
        for row in rows:
            workable, stale = takeable(row, self.now)
            if not workable:
                self.report.skipped += 1
                self._tick()
                continue
            sub = self.subscriber(row, users, searches)
            h = hist.get(row.id)
            digest = content.compose(
                sub,
                period,
                shared,
                self.sources,
                h.sent_ids if h else set(),
                h.last_sent_at if h else None,
            )
            if digest.count == 0 and self.settings.digest_skip_empty:
                empties.append((row, stale))
                self._tick()
                continue
            out = self.composer.digest(
                subscription_id=row.id,
                version=row.token_version,
                email=row.email,
                digest=digest,
                now=self.now,
            )
            self.report.composed += 1
            if not self.dry_run:
                self._deliver(row, period, out, digest.paper_ids, stale)
            self._tick()
        self._settle_empty(period, empties)

    def _tick(self) -> None:
        self._done += 1
        if self.progress is not None:
            self.progress(self._done, self._total)

    def subscriber(
        self,
        row: deliveries.DueRow,
        users: dict[int, tuple[str, bool]],
        searches: dict[int, list[tuple[str, str, str]]],
    ) -> content.Subscriber:
        who = None
        if row.user_id is not None and row.user_id in users:
            name, admin = users[row.user_id]
            who = Principal(id=row.user_id, username=name, is_admin=admin)
        tags = row.options.get("tags") or []
        return content.Subscriber(
            id=row.id,
            email=row.email,
            content=tuple(row.content),
            tags=tuple(str(t) for t in tags if isinstance(t, str)),
            user=who,
            searches=tuple(searches.get(row.user_id, [])) if row.user_id is not None else (),
        )

    def _settle_empty(
        self, period: Period, empties: list[tuple[deliveries.DueRow, str | None]]
    ) -> None:
        if not empties:
            return
        if self.dry_run:
            self.report.empty += len(empties)
            return
        fresh = [row.id for row, _ in empties if row.status is None]
        with self.catalog.store.session() as s:
            added = deliveries.settle_empty_new(s, fresh, period.key, self.now)
            self.report.empty += added
            self.report.skipped += len(fresh) - added
            for row, stale in empties:
                if row.status is None:
                    continue
                if deliveries.claim(
                    s,
                    subscription_id=row.id,
                    period=period.key,
                    owner=self.owner,
                    until=self.now,
                    now=self.now,
                    message_id="",
                    paper_ids=[],
                    status="empty",
                    stale_owner=stale,
                ):
                    self.report.empty += 1
                else:
                    self.report.skipped += 1

    # -- claim, send, record ------------------------------------------------------------------
    def clock(self) -> datetime:
        """Now, on the run's clock (which starts at ``now``, so a test can run in the future)."""
        return self.now + timedelta(seconds=time.monotonic() - self._started)

    def _transport_(self) -> Transport:
        if self._transport is None:
            self._transport = SmtpTransport(self.settings)
        return self._transport

    def _deliver(
        self,
        row: deliveries.DueRow,
        period: Period,
        out: Outgoing,
        paper_ids: list[str],
        stale: str | None,
    ) -> None:
        now = self.clock()
        with self.catalog.store.session() as s:
            claimed = deliveries.claim(
                s,
                subscription_id=row.id,
                period=period.key,
                owner=self.owner,
                until=now + self.lease,
                now=now,
                message_id=out.message_id,
                paper_ids=paper_ids,
                stale_owner=stale,
            )
            # Checked after the claim's write, inside its transaction: an unsubscribe that
            # committed before this point is seen, one after it is too late for this digest.
            if claimed and not subscriptions.is_active(s, row.id):
                deliveries.release(s, row.id, period.key, self.owner, now)
                claimed = False
        if not claimed:
            self.report.skipped += 1
            return
        if self._fault:
            self._fault.point("after-claim")
        attempts = (row.attempts if row.status is not None else 0) + 1
        try:
            self._transport_().send(out.sender, out.to, out.data)
        except SendError as exc:
            self._failed(row, period, attempts, exc)
            return
        self._unreachable = 0
        if self._fault:
            self._fault.point("after-accept")
        with self.catalog.store.session() as s:
            if deliveries.mark_sent(s, row.id, period.key, self.owner, self.clock()):
                self.report.sent += 1
            else:
                self.report.lost_claims += 1
                log.warning("digest %s for %s: sent, but the claim had been taken over",
                            period.key, row.email)  # fmt: skip

    def _failed(
        self, row: deliveries.DueRow, period: Period, attempts: int, exc: SendError
    ) -> None:
        now = self.clock()
        retry = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
        kind = "refused" if isinstance(exc, Rejected) else type(exc).__name__.lower()
        with self.catalog.store.session() as s:
            deliveries.mark_failed(s, row.id, period.key, self.owner, now, f"{kind}: {exc}", retry)
        self.report.failed += 1
        if len(self.report.errors) < 20:
            self.report.errors.append(f"{row.email}: {exc}")
        log.warning(
            "digest %s for %s failed (attempt %d): %s", period.key, row.email, attempts, exc
        )
        if isinstance(exc, Unreachable):
            self._unreachable += 1
            if self._unreachable >= MAX_UNREACHABLE:
                raise _Abort(str(exc))
        else:
            self._unreachable = 0


def send_one(catalog: Catalog, out: Outgoing, transport: Transport | None = None) -> None:
    """Send a single message now (confirmation mails); raises :class:`SendError`."""
    t = transport or SmtpTransport(catalog.settings)
    try:
        t.send(out.sender, out.to, out.data)
    finally:
        if transport is None:
            t.close()
