"""Where a digest run starts: in this process, or sharded over several worker processes.

:func:`send_digests` is what ``papersift digest send``, the scheduler of ``papersift serve`` and
the benchmarks call. With one worker it is a single :class:`~papersift.mail.delivery.DigestRun`.
With more, the subscribers are split by id (``id % workers``) over a pool of processes, to
spread composing over more cores and sending over more SMTP connections (one per process). The
workers are spawned, not forked, so that none inherits the parent's SQLite or index handles;
each opens its own catalogue. The shards need no coordination of their own: the claims in the
delivery log keep them from overlapping just as they do for separate runs. The parent only adds
up the progress the workers count in a shared value and merges their reports.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from papersift.config import Settings
from papersift.mail.delivery import DigestRun, Progress
from papersift.mail.periods import FREQUENCIES, period_of
from papersift.mail.report import RunReport, merged
from papersift.mail.smtp import Transport
from papersift.service.catalog import Catalog
from papersift.store import deliveries
from papersift.store.schema import utcnow


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
_counter: Any = None  # in a worker: the progress count shared with the parent (see _init_worker)


def _count_up(done: int, total: int) -> None:
    with _counter.get_lock():
        _counter.value += 1


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _shard_run(
    settings: Settings, day: date | None, now: datetime, dry_run: bool, shard: deliveries.Shard
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
            total = sum(deliveries.due_count(s, f, period_of(when, f).key) for f in FREQUENCIES)
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
    return merged(reports, time.perf_counter() - started)
