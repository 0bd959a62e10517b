"""Query-term highlighting for any result, found by keyword or by meaning.

Snippets are built from the stored text with the keyword index's own analyzer, so a match on
"warmups" highlights "warmup" exactly as BM25 counted it. Output is a list of segments; callers
escape the text (the web template and :func:`to_html` both do), so hostile abstracts stay inert.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import accumulate

_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)


@dataclass
class Segment:
    text: str
    hit: bool


@dataclass
class Snippet:
    segments: list[Segment]
    matched_terms: list[str]

    def to_html(self) -> str:
        return "".join(
            f"<mark>{escape(s.text)}</mark>" if s.hit else escape(s.text) for s in self.segments
        )

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


def make_snippet(
    text: str,
    query_terms: set[str],
    analyze: Callable[[str], Sequence[str]],
    *,
    width: int = 40,
) -> Snippet:
    """The window of ``width`` words with the most query-term hits, hits marked."""
    words = list(_WORD.finditer(text))
    if not words:
        return Snippet([Segment(text[:300], False)], [])
    hits: list[bool] = []
    matched: list[str] = []
    seen: set[str] = set()
    for m in words:
        hit = bool(query_terms) and not query_terms.isdisjoint(analyze(m.group(0)))
        hits.append(hit)
        if hit and m.group(0).lower() not in seen:
            seen.add(m.group(0).lower())
            matched.append(m.group(0))
    start, best = 0, 0
    if len(words) > width and any(hits):
        ahead = list(accumulate(hits, initial=0))  # hits in words[i:i + width]: a difference
        counts = [ahead[i + width] - ahead[i] for i in range(0, len(words) - width + 1)]
        best = max(range(len(counts)), key=lambda i: (counts[i], -i))
        start = max(0, best - 3)  # three words of lead-in before the best window
    end = min(len(words), best + width)  # ... and all of it: its last hits stay in view
    lo = words[start].start() if start > 0 else 0
    hi = words[end - 1].end() if end < len(words) else len(text)
    segments: list[Segment] = []
    if start > 0:
        segments.append(Segment("… ", False))
    pos = lo
    for m, hit in zip(words[start:end], hits[start:end], strict=True):
        if not hit:
            continue
        if m.start() > pos:
            segments.append(Segment(text[pos : m.start()], False))
        segments.append(Segment(m.group(0), True))
        pos = m.end()
    if hi > pos:
        segments.append(Segment(text[pos:hi], False))
    if end < len(words):
        segments.append(Segment(" …", False))
    return Snippet(segments, matched)


def one_word_per_term(
    words: Sequence[str],
    query_terms: set[str],
    analyze: Callable[[str], Sequence[str]],
    typed: str = "",
) -> list[str]:
    """The matched words to list for a paper, one for each query term they stand for.

    A title and abstract give "Learning, Rates, learning, rates, rate" for a query about the
    learning rate; a reader wants "Learning, rate". Words are grouped by the query terms they
    hold; each group shows the query's own spelling when the paper uses it, else the first.
    """
    own = {w.lower() for w in _WORD.findall(typed)}
    best: dict[tuple[str, ...], str] = {}
    for w in words:
        key = tuple(t for t in analyze(w) if t in query_terms)
        if key and (key not in best or (w.lower() in own and best[key].lower() not in own)):
            best[key] = w
    return list(best.values())
