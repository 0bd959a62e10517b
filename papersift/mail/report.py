"""What a digest run did: the counts ``papersift digest send`` prints and the scheduler logs.

A run in one process fills one report (:class:`papersift.mail.delivery.DigestRun`); a run
sharded over worker processes adds theirs up (:func:`merged`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields


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


def merged(reports: Sequence[RunReport], seconds: float) -> RunReport:
    """One report for the shards of a run: their counts added, their errors joined, the
    first reason one of them stopped; ``seconds`` is the whole run's wall time."""
    out = RunReport(periods=reports[0].periods, dry_run=reports[0].dry_run, seconds=seconds)
    counts = [f.name for f in fields(RunReport) if f.type == "int"]  # annotations are strings here
    for r in reports:
        for name in counts:
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.errors += r.errors
        out.aborted = out.aborted or r.aborted
    return out
