"""The trending score: a formula a user can read, check and tune.

    points = votes + imported_weight * imported_votes + save_weight * saves + code_bonus * has_code
    score  = points / (age_hours + offset_hours) ** gravity

This is Hacker News's ranking with optional extra signals. ``imported_votes`` are upvotes the
paper brought from the site it was imported from (Hugging Face daily papers), so a catalogue that
mirrors HF's lists ranks like it from the first day. ``age_hours`` counts from the
moment a paper first appeared here: the first day it was on a daily list, or else its publication
date (both taken as midnight UTC). ``gravity`` sets how fast papers fall: at 1.5 a paper with 10
points a day old scores about as much as one with 1 point two hours old. All four parameters are
settings (``PAPERSIFT_TRENDING_*``), and every trending list carries the terms of this formula for
each paper, so "why is this trending" always has an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True)
class TrendingParams:
    gravity: float = 1.5
    offset_hours: float = 2.0
    save_weight: float = 0.5
    code_bonus: float = 0.0
    imported_weight: float = 1.0


@dataclass(frozen=True)
class TrendingScore:
    """The score and every term that went into it."""

    score: float
    points: float
    votes: int
    saves: int
    has_code: bool
    age_hours: float
    params: TrendingParams
    imported_votes: int = 0

    def explain(self) -> str:
        p = self.params
        parts = [f"{self.votes} vote{'s' if self.votes != 1 else ''}"]
        if p.imported_weight and self.imported_votes:
            parts.append(f"{p.imported_weight:g} x {self.imported_votes} imported upvotes")
        if p.save_weight and self.saves:
            parts.append(f"{p.save_weight:g} x {self.saves} save{'s' if self.saves != 1 else ''}")
        if p.code_bonus and self.has_code:
            parts.append(f"{p.code_bonus:g} for code")
        return (
            f"{' + '.join(parts)} = {self.points:g} points; {self.age_hours:.0f} h old: "
            f"{self.points:g} / ({self.age_hours:.0f} + {p.offset_hours:g})^{p.gravity:g} "
            f"= {self.score:.4g}"
        )


def appeared_at(first_daily: date | None, published: date | None) -> datetime | None:
    day = first_daily or published
    return datetime.combine(day, time()) if day else None


def score(
    *,
    votes: int,
    saves: int,
    has_code: bool,
    appeared: datetime | None,
    now: datetime,
    params: TrendingParams,
    imported_votes: int = 0,
) -> TrendingScore:
    """Score one paper. A paper with no known date is treated as a year old."""
    age = (now - appeared).total_seconds() / 3600 if appeared else 24 * 365
    age = max(age, 0.0)  # a paper dated in the future (time zones) is brand new, not negative
    points = (
        votes
        + params.imported_weight * imported_votes
        + params.save_weight * saves
        + (params.code_bonus if has_code else 0.0)
    )
    value = points / (age + params.offset_hours) ** params.gravity
    return TrendingScore(
        score=value,
        points=points,
        votes=votes,
        saves=saves,
        has_code=has_code,
        age_hours=age,
        params=params,
        imported_votes=imported_votes,
    )
