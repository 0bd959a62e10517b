"""The keyword leg's query: the user's words as analysed terms, OR-ed over title and abstract.

Why not tantivy's query parser: it turns a hyphenated word ("IL-10") into a phrase, counts a
repeated word twice, boosts the title and cuts the query at the first syntax error. On SciFact
train the keyword leg went from nDCG@10 0.610 with the parser to 0.699 with the query built here
(DESIGN.md's bm25s anchor: 0.686 on test).

The language, small on purpose:

- free words: analysed with each field's own analyzer (stop words gone, stemmed in title and
  abstract), each distinct term once, matched in the title (weight ``TITLE_WEIGHT``), the
  abstract (1) or the author names (``AUTHORS_WEIGHT``); the parts of a hyphenated word match
  on their own;
- ``"a phrase"``: the words in that order (a stop word leaves a gap, as in the index);
- ``title:word``, ``abstract:"a phrase"``, ``authors:name``: one field only;
- ``+word`` / ``-word`` (also before a phrase or a field): required / excluded.

Everything else (parentheses, ``AND``/``OR``/``NOT``, ``^``, ``*``...) is read as plain words, so
no query is refused or cut short. Filters (``author:``, ``cat:``, ``year:``, ``has:``) are taken
out before this, by :mod:`papersift.index.query`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import tantivy

# Field weights of a free word, chosen on SciFact train (keyword nDCG@10 by title weight: 0.3
# 0.696, 0.4 0.699, 0.5 0.695, 0.7 0.690, 1.0 0.670, 2.0 0.628). SciFact has no author names, so
# the authors weight is the earlier one, kept so that a free-text name still finds its papers.
TITLE_WEIGHT = 0.4
ABSTRACT_WEIGHT = 1.0
AUTHORS_WEIGHT = 0.5
FREE_FIELDS = {"title": TITLE_WEIGHT, "abstract": ABSTRACT_WEIGHT, "authors": AUTHORS_WEIGHT}
PHRASE_FIELDS = {"title": TITLE_WEIGHT, "abstract": ABSTRACT_WEIGHT}
NAMED_FIELDS = ("title", "abstract", "authors")

_CLAUSE = re.compile(
    r"""(?<![^\s"])(?P<op>[+-](?=["]|[^\W\d_]|(?:title|abstract|authors)\s*:))?"""
    r"""(?:(?P<field>title|abstract|authors)\s*:\s*(?=["\w]))?"""
    r"""(?:"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))""",
    re.IGNORECASE,
)
_RAW_TOKEN = re.compile(r"[^\W_]+")  # tantivy's simple tokenizer: runs of letters and digits

Analyze = Callable[[str], list[str]]
Occur = str  # "should" | "must" | "must_not"


@dataclass(frozen=True)
class Clause:
    """One piece of the query: a word or a phrase, in some fields, with their weights."""

    occur: Occur
    fields: tuple[tuple[str, float], ...]
    text: str
    phrase: bool


def positioned_terms(text: str, analyze: Analyze) -> list[tuple[int, str]]:
    """Analysed terms with their token positions (a removed stop word leaves a gap)."""
    out: list[tuple[int, str]] = []
    for pos, raw in enumerate(_RAW_TOKEN.findall(text)):
        out.extend((pos, t) for t in analyze(raw))
    return out


def parse_clauses(text: str) -> list[Clause]:
    """Split query text into clauses; never fails (what is not syntax is words)."""
    clauses: list[Clause] = []
    for m in _CLAUSE.finditer(text):
        op, field = m.group("op"), m.group("field")
        phrase, word = m.group("phrase"), m.group("word")
        occur = {"+": "must", "-": "must_not"}.get(op or "", "should")
        if field:
            fields: tuple[tuple[str, float], ...] = ((field.lower(), 1.0),)
        else:
            fields = tuple((PHRASE_FIELDS if phrase is not None else FREE_FIELDS).items())
        if phrase is not None:
            clauses.append(Clause(occur, fields, phrase, phrase=True))
        elif occur != "should":
            clauses.append(Clause(occur, fields, word, phrase=True))  # "+IL-10": all its parts
        else:
            # A free word that splits ("IL-10", "TNF-α") matches its parts, like separate words.
            clauses.extend(Clause(occur, fields, raw, False) for raw in _RAW_TOKEN.findall(word))
    return clauses


def free_terms(clauses: list[Clause], analyze: Analyze) -> list[str]:
    """Distinct ranking terms (title/abstract analyser), in query order: for expansion."""
    out: dict[str, None] = {}
    for c in clauses:
        if c.occur != "must_not":
            out.update((t, None) for _, t in positioned_terms(c.text, analyze))
    return list(out)


def _field_query(schema: tantivy.Schema, field: str, terms: list[tuple[int, str]]) -> tantivy.Query:
    if len(terms) == 1:
        return tantivy.Query.term_query(schema, field, terms[0][1])
    first = terms[0][0]
    words = [(pos - first, t) for pos, t in terms]
    return tantivy.Query.phrase_query(schema, field, list[str | tuple[int, str]](words))


def build_text_query(
    schema: tantivy.Schema,
    clauses: list[Clause],
    analyzers: Mapping[str, Analyze],
    extra: list[tuple[str, float]] | None = None,
) -> tantivy.Query | None:
    """One boolean query from the clauses: per clause, one weighted BM25 per field, summed.

    A term repeated in the query counts once (+0.004 nDCG@10 on SciFact train). ``extra`` adds
    weighted title/abstract terms (query expansion). None when nothing is left to search.
    """
    occurs = {
        "should": tantivy.Occur.Should,
        "must": tantivy.Occur.Must,
        "must_not": tantivy.Occur.MustNot,
    }
    seen: set[tuple[object, ...]] = set()
    parts: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for c in clauses:
        per_field: list[tuple[str, float, list[tuple[int, str]]]] = []
        for field, weight in c.fields:
            terms = positioned_terms(c.text, analyzers[field])
            terms = terms if c.phrase else terms[:1]
            # Deduplicated per field: "warmup warmups" share their stemmed title/abstract term
            # but not their raw author token, and only the author part may count again.
            key = (c.occur, field, weight, tuple(t for _, t in terms))
            if terms and key not in seen:
                seen.add(key)
                per_field.append((field, weight, terms))
        if not per_field:
            continue
        qs = [
            tantivy.Query.boost_query(_field_query(schema, f, ts), w)
            if w != 1.0
            else _field_query(schema, f, ts)
            for f, w, ts in per_field
        ]
        if c.occur == "should":
            # Flat: a sum of sums is the same score, and tantivy walks one flat union of term
            # postings ~2.5x faster than nested unions (p95 23 vs 57 ms at 1M papers).
            parts.extend((tantivy.Occur.Should, x) for x in qs)
            continue
        q = (
            qs[0]
            if len(qs) == 1
            else tantivy.Query.boolean_query([(tantivy.Occur.Should, x) for x in qs])
        )
        parts.append((occurs[c.occur], q))
    for term, weight in extra or []:
        parts.extend(
            (
                tantivy.Occur.Should,
                tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, term), weight * w),
            )
            for f, w in PHRASE_FIELDS.items()
        )
    if not parts:
        return None
    if all(o == tantivy.Occur.MustNot for o, _ in parts):
        parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))  # "-word": all but those
    return tantivy.Query.boolean_query(parts)
