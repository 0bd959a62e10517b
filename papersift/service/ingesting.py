"""Landing parsed records in the store, batch by batch, then bringing the indexes up to date.

Each batch commits on its own, so a crash loses at most the batch in flight and a re-run merges
into what landed (dedup makes re-ingest idempotent). A record that fails cleaning, or that the
database refuses, is reported with where it came from; the rest of the batch still lands.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from papersift.ingest.normalize import InvalidRecord, clean_record
from papersift.records import PaperRecord, ParseItem, ParseProblem
from papersift.service.catalog import Catalog, Progress
from papersift.service.models import IngestReport, ProblemOut
from papersift.store import daily as daily_db
from papersift.store.papers import UpsertResult, upsert_batch
from papersift.store.schema import IngestRun

BATCH = 1000
KEEP_PROBLEMS = 50


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _Tally:
    def __init__(self) -> None:
        self.read = self.inserted = self.updated = self.unchanged = self.problems = 0
        self.first: list[ProblemOut] = []

    def problem(self, where: str, message: str) -> None:
        self.problems += 1
        if len(self.first) < KEEP_PROBLEMS:
            self.first.append(ProblemOut(where=where, message=message[:500]))

    def add(self, r: UpsertResult) -> None:
        self.inserted += r.inserted
        self.updated += r.updated
        self.unchanged += r.unchanged


def _land(catalog: Catalog, batch: list[tuple[str, PaperRecord]], tally: _Tally) -> None:
    try:
        with catalog.store.session() as s:
            tally.add(upsert_batch(s, [r for _, r in batch]))
            daily_db.add_listed(s, [r for _, r in batch])
        return
    except SQLAlchemyError:
        if len(batch) == 1:
            raise
    # Isolate the record the database refused; everything else still lands.
    for where, record in batch:
        try:
            with catalog.store.session() as s:
                tally.add(upsert_batch(s, [record]))
                daily_db.add_listed(s, [record])
        except SQLAlchemyError as exc:
            tally.problem(where, f"database refused record: {exc.__class__.__name__}: {exc}")


def ingest(
    catalog: Catalog,
    items: Iterable[ParseItem],
    *,
    source: str,
    location: str,
    embed: bool = True,
    progress: Progress | None = None,
    on_problem: Callable[[ParseProblem], None] | None = None,
) -> IngestReport:
    started = time.perf_counter()
    tally = _Tally()
    with catalog.store.session() as s:
        run = IngestRun(source=source, location=location[:2000], started_at=_now())
        s.add(run)
        s.flush()
        run_id = run.id
    batch: list[tuple[str, PaperRecord]] = []
    for n, item in enumerate(items, start=1):
        if isinstance(item, ParseProblem):
            tally.problem(item.where, item.message)
            if on_problem:
                on_problem(item)
            continue
        tally.read += 1
        try:
            batch.append((f"record {n}", clean_record(item)))
        except InvalidRecord as exc:
            tally.problem(f"record {n}", str(exc))
            if on_problem:
                on_problem(ParseProblem(source, f"record {n}", str(exc)))
        if len(batch) >= BATCH:
            _land(catalog, batch, tally)
            batch = []
            if progress:
                progress("ingest", tally.read, 0)
    if batch:
        _land(catalog, batch, tally)
    if progress:
        progress("ingest", tally.read, tally.read)
    synced = catalog.sync(embed=embed, progress=progress)
    seconds = time.perf_counter() - started
    with catalog.store.session() as s:
        row = s.get(IngestRun, run_id)
        if row is not None:
            row.finished_at = _now()
            row.inserted, row.updated = tally.inserted, tally.updated
            row.unchanged, row.problems = tally.unchanged, tally.problems
    return IngestReport(
        source=source,
        location=location,
        read=tally.read,
        inserted=tally.inserted,
        updated=tally.updated,
        unchanged=tally.unchanged,
        problems=tally.problems,
        first_problems=tally.first,
        seconds=round(seconds, 3),
        embedded=synced.get("embedded", 0),
    )
