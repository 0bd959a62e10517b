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

Testing hook: ``PAPERSIFT_DIGEST_FAULT=after-accept:N`` (or ``after-claim:N``) makes the process
exit abruptly (``os._exit``) after the N-th message was accepted by SMTP (or claimed), which is
how the tests kill a run at the worst moment.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from papersift.config import Settings
from papersift.mail import content
from papersift.mail.compose import Composer, Outgoing
from papersift.mail.periods import FREQUENCIES, Period, parse_period, period_of
from papersift.mail.smtp import Rejected, SendError, SmtpTransport, Transport, Unreachable
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.store import subscriptions as db
from papersift.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=12)
RETRY_WINDOW = timedelta(days=7)
MAX_UNREACHABLE = 3
BATCH = 500
FAULT_ENV = "PAPERSIFT_DIGEST_FAULT"
FAULT_EXIT = 70
Progress = Callable[[int, int], None]  # (done, total)

_live_runs: set[str] = set()  # owners of the runs alive in this process
_live_lock = threading.Lock()


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_alive(owner: str) -> bool:
    """False only when we know the run is gone: same host, and its process no longer exists."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname():
        return True  # another machine: wait for the lease to expire
    if pid == os.getpid():
        with _live_lock:
            return owner in _live_runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)


@dataclass
class RunReport:
    periods: list[str]
    dry_run: bool = False
    due: int = 0
    composed: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    skipped: int = 0  # held by another run, or waiting for its backoff
    lost_claims: int = 0  # sent, but another run had taken the claim over meanwhile
    retried_earlier: int = 0
    renders: int = 0
    searches: int = 0
    recommendations: int = 0
    seconds: float = 0.0
    aborted: str | None = None
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        n = self.composed if self.dry_run else self.sent
        text = (
            f"{', '.join(self.periods)}: {verb} {n}, empty {self.empty}, failed {self.failed}, "
            f"skipped {self.skipped} of {self.due} due in {self.seconds:.1f}s "
            f"({self.renders} distinct renders)"
        )
        if self.aborted:
            text += f"; stopped: {self.aborted}"
        return text


class _Fault:
    def __init__(self, spec: str) -> None:
        kind, _, n = spec.partition(":")
        self.kind = kind.strip()
        self.at = int(n) if n.strip().isdigit() else 1
        self.seen = 0

    def point(self, kind: str) -> None:
        if kind == self.kind:
            self.seen += 1
            if self.seen >= self.at:
                os._exit(FAULT_EXIT)


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
        shard: db.Shard | None = None,
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
        spec = os.environ.get(FAULT_ENV, "")
        self._fault = _Fault(spec) if spec else None
        self.report = RunReport(periods=[], dry_run=dry_run)

    # -- the run ------------------------------------------------------------------------------
    def run(self, day: date | None = None, frequencies: tuple[str, ...] = FREQUENCIES) -> RunReport:
        started = time.perf_counter()
        day = day or self.now.date()
        periods = [period_of(day, f) for f in frequencies]  # type: ignore[arg-type]
        self.report.periods = [p.key for p in periods]
        with _live_lock:
            _live_runs.add(self.owner)
        try:
            with self.catalog.store.session() as s:
                self._total = sum(db.due_count(s, p.frequency, p.key, self.shard) for p in periods)
            self.report.due = self._total
            for period in periods:
                self._period(period)
            self._retries({p.key for p in periods})
        except _Abort as exc:
            self.report.aborted = str(exc)
        finally:
            with _live_lock:
                _live_runs.discard(self.owner)
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
                rows = db.due_batch(
                    s, period.frequency, period.key, after_id=after, limit=BATCH, shard=self.shard
                )
            if not rows:
                return
            after = rows[-1].id
            self._batch(period, rows)

    def _retries(self, current: set[str]) -> None:
        with self.catalog.store.session() as s:
            due = db.retries_due(
                s, self.now, created_after=self.now - RETRY_WINDOW, skip_periods=current
            )
            if self.shard is not None:
                due = [(i, key) for i, key in due if i % self.shard[1] == self.shard[0]]
            rows = [(key, db.due_for(s, sub_id, key)) for sub_id, key in due]
        by_period: dict[str, list[db.DueRow]] = {}
        for key, row in rows:
            if row is not None:
                by_period.setdefault(key, []).append(row)
        for key, batch in by_period.items():
            self._total += len(batch)
            self.report.due += len(batch)
            self.report.retried_earlier += len(batch)
            self._batch(parse_period(key), batch)

    # -- one batch of subscribers -------------------------------------------------------------
    def _batch(self, period: Period, rows: list[db.DueRow]) -> None:
        ids = [r.id for r in rows]
        wants_user = [
            r.user_id
            for r in rows
            if r.user_id is not None and {"searches", "recommendations"} & set(r.content)
        ]
        with self.catalog.store.session() as s:
            hist = db.history(s, ids, self.now - timedelta(days=content.HISTORY_DAYS))
            users = db.users(s, wants_user)
            searches = db.saved_searches(s, wants_user)
        shared = self.shared(period)
        self.sources.prefetch(q for rows_ in searches.values() for _, _, q in rows_)
        empties: list[tuple[db.DueRow, str | None]] = []
        for row in rows:
            workable, stale = self._workable(row)
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

    def _workable(self, row: db.DueRow) -> tuple[bool, str | None]:
        """Can this run take the row now? And whose dead claim it would take over."""
        if row.status is None:
            return True, None
        if row.status == "failed":
            return row.next_attempt_at is not None and row.next_attempt_at <= self.now, None
        if row.claimed_until is None or row.claimed_until < self.now:
            return True, None
        if row.claimed_by and not owner_alive(row.claimed_by):
            return True, row.claimed_by
        return False, None

    def subscriber(
        self,
        row: db.DueRow,
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

    def _settle_empty(self, period: Period, empties: list[tuple[db.DueRow, str | None]]) -> None:
        if not empties:
            return
        if self.dry_run:
            self.report.empty += len(empties)
            return
        fresh = [row.id for row, _ in empties if row.status is None]
        with self.catalog.store.session() as s:
            added = db.settle_empty_new(s, fresh, period.key, self.now)
            self.report.empty += added
            self.report.skipped += len(fresh) - added
            for row, stale in empties:
                if row.status is None:
                    continue
                if db.claim(
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
        self, row: db.DueRow, period: Period, out: Outgoing, paper_ids: list[str], stale: str | None
    ) -> None:
        now = self.clock()
        with self.catalog.store.session() as s:
            claimed = db.claim(
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
            if claimed and not db.is_active(s, row.id):
                db.release(s, row.id, period.key, self.owner, now)
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
            if db.mark_sent(s, row.id, period.key, self.owner, self.clock()):
                self.report.sent += 1
            else:
                self.report.lost_claims += 1
                log.warning("digest %s for %s: sent, but the claim had been taken over",
                            period.key, row.email)  # fmt: skip

    def _failed(self, row: db.DueRow, period: Period, attempts: int, exc: SendError) -> None:
        now = self.clock()
        retry = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
        kind = "refused" if isinstance(exc, Rejected) else type(exc).__name__.lower()
        with self.catalog.store.session() as s:
            db.mark_failed(s, row.id, period.key, self.owner, now, f"{kind}: {exc}", retry)
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


def send_digests(
    catalog: Catalog,
    day: date | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    transport: Transport | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> RunReport:
    """Send the digests of the periods containing ``day`` (default: today, UTC).

    With ``workers`` > 1 the subscribers are split by id over that many processes (each with
    its own catalogue and SMTP connection); the delivery log keeps them from overlapping just
    as it does for separate runs.
    """
    if workers <= 1:
        run = DigestRun(catalog, now=now, dry_run=dry_run, transport=transport, progress=progress)
        return run.run(day)
    return _parallel(catalog, day, now or utcnow(), dry_run, progress, workers)


# -- several processes -----------------------------------------------------------------------------
_counter: Any = None


def _count_up(done: int, total: int) -> None:
    with _counter.get_lock():
        _counter.value += 1


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _shard_run(
    settings: Settings, day: date | None, now: datetime, dry_run: bool, shard: db.Shard
) -> RunReport:
    catalog = Catalog(settings)
    try:
        run = DigestRun(catalog, now=now, dry_run=dry_run, progress=_count_up, shard=shard)
        return run.run(day)
    finally:
        catalog.close()


def _parallel(
    catalog: Catalog,
    day: date | None,
    now: datetime,
    dry_run: bool,
    progress: Progress | None,
    workers: int,
) -> RunReport:
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")  # no inherited SQLite or index handles
    counter = ctx.Value("q", 0)
    total = 0
    if progress is not None:
        when = day or now.date()
        with catalog.store.session() as s:
            total = sum(db.due_count(s, f, period_of(when, f).key) for f in FREQUENCIES)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(counter,)
    ) as pool:
        futures = [
            pool.submit(_shard_run, catalog.settings, day, now, dry_run, (i, workers))
            for i in range(workers)
        ]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress(counter.value, max(total, counter.value))
        reports = [f.result() for f in futures]
    merged = RunReport(periods=reports[0].periods, dry_run=dry_run)
    for r in reports:
        for name in ("due", "composed", "sent", "empty", "failed", "skipped", "lost_claims",
                     "retried_earlier", "renders", "searches", "recommendations"):  # fmt: skip
            setattr(merged, name, getattr(merged, name) + getattr(r, name))
        merged.errors += r.errors
        merged.aborted = merged.aborted or r.aborted
    merged.seconds = time.perf_counter() - started
    return merged


def send_one(catalog: Catalog, out: Outgoing, transport: Transport | None = None) -> None:
    """Send a single message now (confirmation mails); raises :class:`SendError`."""
    t = transport or SmtpTransport(catalog.settings)
    try:
        t.send(out.sender, out.to, out.data)
    finally:
        if transport is None:
            t.close()
