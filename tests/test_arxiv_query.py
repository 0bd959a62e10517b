"""The arXiv query language: parsed to the right tree, refused with a clear message, and run on a
real tantivy index with the same fields papersift's keyword search uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from papersift.index.arxiv_query import (
    And,
    AndNot,
    ArxivQueryError,
    DateRange,
    Or,
    Term,
    parse,
    strict_arxiv_id,
    to_tantivy,
)
from papersift.index.keyword import KeywordDoc, KeywordIndex


def t(text: str, field: str = "all", phrase: bool = False) -> Term:
    return Term(field, text, phrase)  # type: ignore[arg-type]


# -- parsing ----------------------------------------------------------------------------------
def test_and_binds_tighter_than_or() -> None:
    assert parse("a OR b AND c") == Or(t("a"), And(t("b"), t("c")))
    assert parse("a AND b OR c") == Or(And(t("a"), t("b")), t("c"))


def test_andnot_binds_like_and_and_is_left_associative() -> None:
    assert parse("a ANDNOT b ANDNOT c") == AndNot(AndNot(t("a"), t("b")), t("c"))
    assert parse("a OR b ANDNOT c") == Or(t("a"), AndNot(t("b"), t("c")))


def test_parentheses_override_precedence() -> None:
    assert parse("(a OR b) AND c") == And(Or(t("a"), t("b")), t("c"))
    assert parse("a ANDNOT (b OR c)") == AndNot(t("a"), Or(t("b"), t("c")))


def test_field_prefixes_and_juxtaposition() -> None:
    assert parse("au:del_maestro AND ti:checkerboard") == And(
        t("del_maestro", "au"), t("checkerboard", "ti")
    )
    # Words side by side are ANDed; an unprefixed word searches all fields.
    assert parse("ti:deep learning") == And(t("deep", "ti"), t("learning"))
    assert parse("CAT:cs.LG") == t("cs.LG", "cat")


def test_quoted_phrases_keep_their_words_and_operators() -> None:
    assert parse('ti:"deep learning"') == t("deep learning", "ti", phrase=True)
    assert parse('abs:"cats AND dogs" OR x') == Or(t("cats AND dogs", "abs", True), t("x"))


def test_prefix_before_parentheses_applies_inside() -> None:
    assert parse('ti:(deep OR "neural nets") AND au:hinton') == And(
        Or(t("deep", "ti"), t("neural nets", "ti", True)), t("hinton", "au")
    )
    # ...unless a word inside names its own field.
    assert parse("ti:(deep OR abs:shallow)") == Or(t("deep", "ti"), t("shallow", "abs"))


def test_lowercase_operators_are_plain_words() -> None:
    assert parse("rock and roll") == And(And(t("rock"), t("and")), t("roll"))


def test_submitted_date_range() -> None:
    assert parse("cat:cs.LG AND submittedDate:[202301010600 TO 202301312359]") == And(
        t("cs.LG", "cat"), DateRange(date(2023, 1, 1), date(2023, 1, 31))
    )
    assert parse("submittedDate:[* TO 20200101]") == DateRange(None, date(2020, 1, 1))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ti:", "nothing to search after ti"),
        ("ti: AND x", "nothing to search after ti"),
        ("(a OR b", "unclosed parenthesis at position 0"),
        ("a OR b)", "unexpected ')' at position 6"),
        ("()", "empty parentheses"),
        ("a AND", "query ends where a term was expected"),
        ("OR a", "OR at position 0 needs a term on its left"),
        ("ANDNOT a", "ANDNOT at position 0 needs a term"),
        ("a AND OR b", "OR at position 6 needs a term"),
        ('ti:"unclosed', "unbalanced quote at position 3"),
        ('ti:""', "empty phrase"),
        ("foo:bar", "unknown field prefix 'foo:'"),
        ("co:NeurIPS", "co: (comment) is not searchable"),
        ("jr:Nature", "jr: (journal reference) is not searchable"),
        ("lastUpdatedDate:[2020 TO 2021]", "lastUpdatedDate ranges are not supported"),
        ("submittedDate:2020", "submittedDate needs a range"),
        ("submittedDate:[2020 TO]", "cannot read submittedDate range"),
        ("submittedDate:[20201399 TO 20210101]", "cannot read submittedDate start"),
        ("(" * 40 + "a" + ")" * 40, "nested deeper than 32"),
        (" OR ".join(["a"] * 250), "more than 200 terms"),
        ("a" * 5000, "longer than 4000"),
    ],
)
def test_malformed_queries_say_what_is_wrong(query: str, message: str) -> None:
    with pytest.raises(ArxivQueryError) as err:
        parse(query)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1706.03762", ("1706.03762", None)),
        ("1706.03762v5", ("1706.03762", 5)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
    ],
)
def test_strict_arxiv_ids(raw: str, expected: tuple[str, int | None]) -> None:
    assert strict_arxiv_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["1234.12345", "1234.1234", "2401.1234", "1412.12345", "cond—mat/0709123", "x", "", "17063762"],
)
def test_malformed_arxiv_ids_are_refused_like_arxiv(raw: str) -> None:
    with pytest.raises(ArxivQueryError, match="incorrect id format"):
        strict_arxiv_id(raw)


# -- running on a real index -------------------------------------------------------------------
DOCS = [
    KeywordDoc(1, "Attention Is All You Need", "The Transformer: attention without recurrence.",
               ["Ashish Vaswani", "Noam Shazeer"], ["cs.CL", "cs.LG"], 2017, 17329, True),
    KeywordDoc(2, "Contrastive Learning of Visual Representations", "A contrastive loss on views.",
               ["Ting Chen", "Geoffrey Hinton"], ["cs.LG", "cs.CV"], 2020, 18305, False),
    KeywordDoc(3, "Deep Metric Learning", "A structured loss; learning rate tuned per batch.",
               ["Hyun Oh Song"], ["cs.CV"], 2015, 16758, False),
    KeywordDoc(4, "Adaptive Learning Rate Variance", "The learning rate warmup heuristic.",
               ["Juan del Maestro", "Liyuan Liu"], ["cs.LG", "stat.ML"], 2019, 18116, False),
    KeywordDoc(5, "Photosynthesis under drought", "Maize and sorghum keep efficiency.",
               ["A. Botanist"], ["q-bio.PE"], 2021, 18687, False),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> KeywordIndex:
    idx = KeywordIndex(Path(tmp_path_factory.mktemp("kw")) / "keyword")
    idx.upsert(DOCS)
    idx.commit()
    return idx


KNOWN = {"1706.03762": 1, "2002.05709": 2}


def resolve(ids: Sequence[str]) -> list[int]:
    return [KNOWN[i] for i in ids if i in KNOWN]


def found(index: KeywordIndex, query: str) -> set[int]:
    hits, total = index.search_query(to_tantivy(parse(query), index, resolve), limit=100)
    assert total == len(hits)
    return {n for n, _ in hits}


@pytest.mark.parametrize(
    ("query", "nums"),
    [
        ("ti:learning", {2, 3, 4}),
        ("ti:learning ANDNOT cat:cs.CV", {4}),
        ("ti:learning AND cat:cs.CV OR ti:attention", {1, 2, 3}),
        ("ti:learning AND (cat:cs.CV OR ti:attention)", {2, 3}),
        ('abs:"learning rate"', {3, 4}),
        ('abs:"rate learning"', set()),
        ("abs:learning rate warmup", {4}),
        ("au:hinton", {2}),
        ('au:"Hinton, G"', {2}),
        ("au:del_maestro", {4}),
        ('au:"Hyun Oh Song"', {3}),
        ("cat:cs", {1, 2, 3, 4}),
        ("cat:cs.LG ANDNOT cat:cs.CV", {1, 4}),
        ("cat:stat.*", {4}),
        ("all:hinton OR all:sorghum", {2, 5}),
        ("transformer", {1}),
        ("ti:the AND ti:attention", {1}),  # a stop word adds no constraint
        ("ti:the", set()),
        ("id:1706.03762v5 OR id:2002.05709", {1, 2}),
        ("id:2101.00001", set()),
        ("cat:cs.LG AND submittedDate:[20190101 TO 20201231]", {2, 4}),
        ("submittedDate:[20210101 TO *]", {5}),
        # Query syntax inside a phrase is literal text, for arXiv and for tantivy alike.
        ('abs:"Transformer: attention (without) AND"', {1}),
        ('ti:"all\\you: need^2"', set()),
        ('ti:"all\\you: need"', {1}),
    ],
)
def test_queries_find_the_right_papers(index: KeywordIndex, query: str, nums: set[int]) -> None:
    assert found(index, query) == nums


def test_malformed_id_prefix_is_refused(index: KeywordIndex) -> None:
    with pytest.raises(ArxivQueryError, match=r"incorrect id format for 1234\.12345"):
        to_tantivy(parse("id:1234.12345"), index, resolve)


def test_title_matches_rank_by_bm25_and_dates_order_by_day(index: KeywordIndex) -> None:
    q = to_tantivy(parse("ti:learning OR abs:learning"), index, resolve)
    by_score, _ = index.search_query(q, limit=10)
    assert [s for _, s in by_score] == sorted((s for _, s in by_score), reverse=True)
    newest, total = index.search_query(q, limit=2, order_by_day="desc")
    assert [n for n, _ in newest] == [2, 4] and total == 3
    oldest, _ = index.search_query(q, limit=10, offset=1, order_by_day="asc")
    assert [n for n, _ in oldest] == [4, 2]
    assert index.search_query(q, limit=0) == ([], 3)
