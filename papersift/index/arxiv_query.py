"""The arXiv API's query language (``search_query=``), parsed to a small AST and run on tantivy.

Tools written for arXiv (the ``arxiv`` package, feed readers, scripts) send queries such as
``au:del_maestro AND ti:"quantum criticality" ANDNOT cat:cond-mat.str-el``. To serve them from
papersift's own keyword index, this module reads that language once, strictly, and compiles it to
a tantivy query on the fields :mod:`papersift.index.keyword` already has (title, abstract,
authors, cats, day): no second index, no SQL.

Grammar (arXiv user manual, "Details of Query Construction"), operators upper case only::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := operand (("AND" | "ANDNOT" | juxtaposition) operand)*
    operand  := [prefix ":"] (WORD | '"' phrase '"' | "(" or_expr ")")
              | date_prefix ":[" FROM " TO " TO "]"

``AND`` and ``ANDNOT`` bind tighter than ``OR`` and all are left-associative, so
``a OR b AND c`` is ``a OR (b AND c)`` and ``a ANDNOT b ANDNOT c`` is ``(a ANDNOT b) ANDNOT c``.
Two operands side by side mean ``AND`` (papersift's choice: the manual leaves it open).
A prefix before parentheses applies inside them (``ti:(deep OR shallow)``); a word without a
prefix is ``all:``.

Prefixes: ``ti`` title, ``au`` author, ``abs`` abstract, ``cat`` category (``cat:cs`` is the
whole archive), ``all`` title+abstract+authors, ``id`` arXiv id, ``submittedDate:[A TO B]``
(``YYYYMMDD[HHMM]`` or ``*``, whole days, inclusive). ``co`` (comment), ``jr`` (journal
reference) and ``rn`` (report number) are not in the keyword index and are refused with an
:class:`ArxivQueryError` that says so, as is ``lastUpdatedDate``: silently ignoring a clause
would return wrong results.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import tantivy

from papersift.index.keyword import AUTHORS_BOOST, TITLE_BOOST, KeywordIndex

MAX_QUERY_CHARS = 4_000
MAX_OPERANDS = 200
MAX_DEPTH = 32
EPOCH = date(1970, 1, 1)

Field = Literal["ti", "au", "abs", "cat", "all", "id"]
FIELDS: tuple[Field, ...] = ("ti", "au", "abs", "cat", "all", "id")
UNSUPPORTED = {
    "co": "co: (comment) is not searchable in papersift; use abs: or all: instead",
    "jr": "jr: (journal reference) is not searchable in papersift; use all: instead",
    "rn": "rn: (report number) is not searchable in papersift",
    "lastupdateddate": "lastUpdatedDate ranges are not supported; use submittedDate:[A TO B]",
}
OPERATORS = ("AND", "OR", "ANDNOT")

_NEW_ID = re.compile(r"^(\d{2})(\d{2})\.(\d{4,5})(?:v(\d+))?$")
_OLD_ID = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?)/(\d{2})(\d{2})(\d{3})(?:v(\d+))?$")
_DATE_BOUND = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2,6})?$")
_PREFIXED = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)


class ArxivQueryError(ValueError):
    """A search_query or arXiv id that cannot be read; the message names the offending part."""


# -- the AST ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """One word or quoted phrase searched in one field."""

    field: Field
    text: str
    phrase: bool = False


@dataclass(frozen=True)
class DateRange:
    """``submittedDate:[A TO B]``: whole days, both ends inclusive, None for an open end."""

    start: date | None
    end: date | None


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class AndNot:
    left: Node
    right: Node


Node = Term | DateRange | And | Or | AndNot


# -- arXiv identifiers --------------------------------------------------------------------------
def strict_arxiv_id(text: str) -> tuple[str, int | None]:
    """``(id, version)`` for a well-formed arXiv identifier, else :class:`ArxivQueryError`.

    Stricter than :func:`papersift.ids.parse_arxiv_id` (which finds an id inside any text):
    the arXiv API answers ``incorrect id format`` for ``1234.12345`` (no month 34), and so do we.
    """
    raw = text.strip()
    m = _NEW_ID.match(raw)
    if m:
        yy, mm, number, version = m.groups()
        yymm = int(yy + mm)
        digits_ok = (len(number) == 4 and 704 <= yymm <= 1412) or (
            len(number) == 5 and yymm >= 1501
        )
        if 1 <= int(mm) <= 12 and digits_ok:
            return f"{yy}{mm}.{number}", int(version) if version else None
    m = _OLD_ID.match(raw)
    if m:
        archive, yy, mm, number, version = m.groups()
        if 1 <= int(mm) <= 12:
            return f"{archive}/{yy}{mm}{number}", int(version) if version else None
    raise ArxivQueryError(f"incorrect id format for {raw}")


# -- lexing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "phrase", "lparen", "rparen", "op", "prefix", "range"]
    text: str
    pos: int


def _tokens(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Token("lparen" if c == "(" else "rparen", c, i))
            i += 1
        elif c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise ArxivQueryError(f"unbalanced quote at position {i}: {query[i : i + 40]!r}")
            out.append(_Token("phrase", query[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            m = _PREFIXED.match(word)
            if word in OPERATORS:
                out.append(_Token("op", word, start))
            elif m and m.group(1).lower() == "submitteddate":
                # The range may hold spaces ("[202301010000 TO 202302010000]"): read to "]".
                close = query.find("]", start)
                if not m.group(2).startswith("[") or close < 0:
                    raise ArxivQueryError(
                        f"submittedDate needs a range like [202301010000 TO 202312312359] "
                        f"at position {start}"
                    )
                out.append(_Token("range", query[start + len("submittedDate:") + 1 : close], start))
                i = close + 1
            elif m:
                out.append(_Token("prefix", _field(m.group(1), start), start))
                if m.group(2):
                    out.append(_Token("word", m.group(2), start + len(m.group(1)) + 1))
            else:
                out.append(_Token("word", word, start))
    return out


def _field(name: str, pos: int) -> Field:
    key = name.lower()
    for f in FIELDS:
        if f == key:
            return f
    if key in UNSUPPORTED:
        raise ArxivQueryError(UNSUPPORTED[key])
    raise ArxivQueryError(
        f"unknown field prefix {name + ':'!r} at position {pos}; "
        "use ti:, au:, abs:, cat:, all:, id: or submittedDate:[A TO B]"
    )


def _date_bound(text: str, *, end: bool) -> date | None:
    if text == "*":
        return None
    m = _DATE_BOUND.match(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    which = "end" if end else "start"
    raise ArxivQueryError(f"cannot read submittedDate {which} {text!r}: use YYYYMMDDHHMM or *")


def _date_range(text: str) -> DateRange:
    parts = text.split()
    if len(parts) != 3 or parts[1] != "TO":
        raise ArxivQueryError(f"cannot read submittedDate range [{text}]: use [FROM TO TO]")
    return DateRange(_date_bound(parts[0], end=False), _date_bound(parts[2], end=True))


# -- parsing ----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[_Token], query: str) -> None:
        self.tokens = tokens
        self.query = query
        self.i = 0
        self.operands = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def or_expr(self, field: Field, depth: int) -> Node:
        node = self.and_expr(field, depth)
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text == "OR":
            self.take()
            node = Or(node, self.and_expr(field, depth))
        return node

    def and_expr(self, field: Field, depth: int) -> Node:
        node = self.operand(field, depth)
        while (tok := self.peek()) is not None and tok.kind != "rparen":
            if tok.kind == "op" and tok.text == "OR":
                break
            if tok.kind == "op":
                self.take()
                right = self.operand(field, depth)
                node = AndNot(node, right) if tok.text == "ANDNOT" else And(node, right)
            else:
                node = And(node, self.operand(field, depth))  # juxtaposition
        return node

    def operand(self, field: Field, depth: int) -> Node:
        tok = self.peek()
        if tok is None:
            raise ArxivQueryError(f"query ends where a term was expected: {self.query!r:.80}")
        self.operands += 1
        if self.operands > MAX_OPERANDS:
            raise ArxivQueryError(f"query has more than {MAX_OPERANDS} terms")
        if tok.kind == "prefix":
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("op", "rparen", "prefix", "range"):
                raise ArxivQueryError(f"nothing to search after {tok.text}: at position {tok.pos}")
            return self.operand(tok.text, depth)  # type: ignore[arg-type]
        self.take()
        if tok.kind == "word":
            return Term(field, tok.text)
        if tok.kind == "phrase":
            if not tok.text.strip():
                raise ArxivQueryError(f"empty phrase at position {tok.pos}")
            return Term(field, tok.text, phrase=True)
        if tok.kind == "range":
            return _date_range(tok.text)
        if tok.kind == "lparen":
            if depth >= MAX_DEPTH:
                raise ArxivQueryError(f"parentheses nested deeper than {MAX_DEPTH}")
            nxt = self.peek()
            if nxt is not None and nxt.kind == "rparen":
                raise ArxivQueryError(f"empty parentheses at position {tok.pos}")
            node = self.or_expr(field, depth + 1)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise ArxivQueryError(f"unclosed parenthesis at position {tok.pos}")
            self.take()
            return node
        if tok.kind == "rparen":
            raise ArxivQueryError(f"unexpected ')' at position {tok.pos}")
        raise ArxivQueryError(f"{tok.text} at position {tok.pos} needs a term on its left")


def parse(query: str) -> Node:
    """The AST of an arXiv ``search_query``; :class:`ArxivQueryError` says what is wrong."""
    if len(query) > MAX_QUERY_CHARS:
        raise ArxivQueryError(f"search_query is longer than {MAX_QUERY_CHARS} characters")
    tokens = _tokens(query)
    if not tokens:
        raise ArxivQueryError("search_query is empty")
    parser = _Parser(tokens, query)
    node = parser.or_expr("all", 0)
    leftover = parser.peek()
    if leftover is not None:
        raise ArxivQueryError(f"unexpected {leftover.text!r} at position {leftover.pos}")
    return node


# -- compiling to tantivy ---------------------------------------------------------------------
IdResolver = Callable[[Sequence[str]], list[int]]
"""Maps arXiv ids (no version) to the keyword index's paper ``num``s; unknown ids are dropped."""

_TEXT_FIELDS: dict[Field, list[str]] = {
    "ti": ["title"],
    "abs": ["abstract"],
    "all": ["title", "abstract", "authors"],
}


def _quoted(text: str) -> str:
    # Inside quotes tantivy's parser takes everything literally except '"' and '\'; neither
    # is ever part of an indexed token, so they become spaces.
    return '"' + text.replace("\\", " ").replace('"', " ") + '"'


def _author_query(index: KeywordIndex, term: Term) -> tantivy.Query | None:
    """``au:hinton`` is one word; ``au:del_maestro`` and ``au:"Hyun Oh Song"`` are a name.

    Initials ("G") are dropped when other words remain, as papersift's ``author:`` filter does,
    so ``au:"Hinton, G"`` still finds "Geoffrey Hinton".
    """
    words = [w for w in re.split(r"[\W_]+", term.text.lower()) if w]
    words = [w for w in words if len(w) > 1] or words
    if not words:
        return None
    s = index.schema
    if len(words) == 1:
        return tantivy.Query.term_query(s, "authors", words[0])
    return tantivy.Query.phrase_query(s, "authors", list[str | tuple[int, str]](words), slop=1)


def _leaf(index: KeywordIndex, term: Term, resolve_ids: IdResolver) -> tantivy.Query | None:
    s = index.schema
    if term.field == "au":
        return _author_query(index, term)
    if term.field == "cat":
        value = term.text.strip().lower().removesuffix(".*").removesuffix("*")
        if not value:
            raise ArxivQueryError(f"empty category in cat:{term.text}")
        return tantivy.Query.term_query(s, "cats", value)
    if term.field == "id":
        arxiv_id, _ = strict_arxiv_id(term.text)
        nums = resolve_ids([arxiv_id])
        return tantivy.Query.term_set_query(s, "num", nums) if nums else tantivy.Query.empty_query()
    if not index.analyze(term.text):
        return None  # only stop words or punctuation: no constraint, as arXiv drops them
    fields = _TEXT_FIELDS[term.field]
    boosts = {"title": TITLE_BOOST, "authors": AUTHORS_BOOST} if term.field == "all" else {}
    return index.index.parse_query(
        _quoted(term.text), default_field_names=fields, field_boosts=boosts
    )


def _day(d: date) -> int:
    return (d - EPOCH).days


def _compile(node: Node, index: KeywordIndex, resolve_ids: IdResolver) -> tantivy.Query | None:
    """None means "no constraint" (a stop word): dropped from the boolean around it."""
    if isinstance(node, Term):
        return _leaf(index, node, resolve_ids)
    if isinstance(node, DateRange):
        lo = _day(node.start) if node.start else -(10**6)
        hi = _day(node.end) if node.end else 10**7
        return tantivy.Query.range_query(index.schema, "day", tantivy.FieldType.Integer, lo, hi)
    left = _compile(node.left, index, resolve_ids)
    right = _compile(node.right, index, resolve_ids)
    must, should, not_ = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
    if isinstance(node, AndNot):
        if right is None:
            return left
        base = left if left is not None else tantivy.Query.all_query()
        return tantivy.Query.boolean_query([(must, base), (not_, right)])
    if left is None or right is None:
        return left if right is None else right
    occur = must if isinstance(node, And) else should
    return tantivy.Query.boolean_query([(occur, left), (occur, right)])


def to_tantivy(node: Node, index: KeywordIndex, resolve_ids: IdResolver) -> tantivy.Query:
    """The tantivy query for an AST; a query of stop words only matches nothing."""
    query = _compile(node, index, resolve_ids)
    return query if query is not None else tantivy.Query.empty_query()
