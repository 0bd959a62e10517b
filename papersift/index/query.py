"""The user's query language: free text plus ``author:``, ``cat:``, ``year:`` and ``has:code``.

Filters are pulled out of the text here, once, so the keyword index, the vector index and the
web form all see the same structured :class:`Filters`; the rest of the text goes to the ranker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# The query language's own cap, which a pasted abstract fits (BEIR's ArguAna queries, whole
# arguments, run to ~1,200 characters). The web UI and the JSON APIs take PUBLIC_QUERY_CHARS: at
# 2.7M papers the keyword leg of a 1,000-character query takes ~120 ms, of 4,000 ~325 ms, and a
# public server should not be made to pay that for anyone who asks.
MAX_QUERY_CHARS = 4_000
PUBLIC_QUERY_CHARS = 1_000

_FILTER = re.compile(
    r"""(?<!\S)(-?)(author|au|cat|category|year|has)\s*:\s*("[^"]*"|\S+)""",
    re.IGNORECASE,
)
_YEAR_RANGE = re.compile(r"^(\d{4})?\s*(?:\.\.|-|–|to)\s*(\d{4})?$")
_YEAR_CMP = re.compile(r"^(>=|<=|>|<)(\d{4})$")


class QueryError(ValueError):
    """A filter value papersift cannot read, e.g. ``year:soon``."""


@dataclass
class Filters:
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    exclude_categories: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    has_code: bool = False

    def is_empty(self) -> bool:
        return not (
            self.authors
            or self.categories
            or self.exclude_categories
            or self.year_from
            or self.year_to
            or self.has_code
        )

    def merged(self, other: Filters) -> Filters:
        return replace(
            self,
            authors=self.authors + other.authors,
            categories=self.categories + other.categories,
            exclude_categories=self.exclude_categories + other.exclude_categories,
            year_from=other.year_from or self.year_from,
            year_to=other.year_to or self.year_to,
            has_code=self.has_code or other.has_code,
        )


@dataclass
class ParsedQuery:
    text: str
    filters: Filters


def parse_year(value: str) -> tuple[int | None, int | None]:
    value = value.strip()
    if value.isdigit() and len(value) == 4:
        return int(value), int(value)
    m = _YEAR_CMP.match(value)
    if m:
        op, year = m.group(1), int(m.group(2))
        return {
            ">=": (year, None),
            ">": (year + 1, None),
            "<=": (None, year),
            "<": (None, year - 1),
        }[op]
    m = _YEAR_RANGE.match(value)
    if m and (m.group(1) or m.group(2)):
        lo = int(m.group(1)) if m.group(1) else None
        hi = int(m.group(2)) if m.group(2) else None
        return lo, hi
    raise QueryError(f"cannot read year filter {value!r}: use 2021, 2019..2021, >=2020")


def parse_query(raw: str) -> ParsedQuery:
    """Split a query string into ranking text and structured filters."""
    raw = (raw or "")[:MAX_QUERY_CHARS]
    filters = Filters()

    def take(m: re.Match[str]) -> str:
        negate, key, value = m.group(1), m.group(2).lower(), m.group(3).strip('"').strip()
        if not value:
            return " "
        if key in ("author", "au"):
            filters.authors.append(value)
        elif key in ("cat", "category"):
            (filters.exclude_categories if negate else filters.categories).append(value)
        elif key == "year":
            lo, hi = parse_year(value)
            filters.year_from, filters.year_to = lo, hi
        elif key == "has":
            if value.lower() not in ("code", "github"):
                raise QueryError(f"unknown has: filter {value!r}: only has:code is supported")
            filters.has_code = True
        return " "

    text = _FILTER.sub(take, raw)
    return ParsedQuery(text=" ".join(text.split()), filters=filters)
