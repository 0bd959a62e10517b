"""BM25 keyword index on tantivy: title, abstract and authors, with cheap filters.

The index stores no text, only the paper's integer ``num`` and the filter fields; text for
snippets comes from the store. English stop words and Snowball stemming match the measured
anchor in DESIGN.md (BM25 with stop words + stemming: SciFact nDCG@10 0.686). The ranking query
is built by :mod:`papersift.index.keyword_query`.
"""

from __future__ import annotations

import math
import re
import shutil
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from papersift.index.keyword_query import build_text_query, parse_clauses
from papersift.index.query import Filters
from papersift.index.word_terms import WordTerms

ANALYZER = "en_papers"
LOWER_RAW = "raw_lower"
# Boosts for queries that go through tantivy's own parser (the arXiv query language); the
# default search ranks with keyword_query's field weights, chosen on SciFact train.
TITLE_BOOST = 2.0
AUTHORS_BOOST = 0.5
WRITER_HEAP = 128_000_000


@dataclass
class KeywordDoc:
    num: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    year: int | None
    day: int | None  # days since 1970-01-01, for sorting by date
    has_code: bool


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _names_analyzer() -> tantivy.TextAnalyzer:
    """What tantivy's "default" tokenizer does to the authors field: split, lowercase."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def _lower_raw() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_integer_field("num", stored=True, indexed=True, fast=True)
    b.add_text_field("title", tokenizer_name=ANALYZER)
    b.add_text_field("abstract", tokenizer_name=ANALYZER)
    b.add_text_field("authors", tokenizer_name="default")
    b.add_text_field("cats", tokenizer_name=LOWER_RAW, index_option="basic")
    b.add_integer_field("year", indexed=True, fast=True)
    b.add_integer_field("day", fast=True)
    b.add_integer_field("has_code", indexed=True, fast=True)
    return b.build()


def bm25_idf(doc_freq: int, num_docs: int) -> float:
    """BM25's idf, as tantivy scores with it (never negative, unlike Robertson's original)."""
    return math.log(1 + (num_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def category_terms(categories: Iterable[str]) -> list[str]:
    """``cs.LG`` is findable as ``cs.LG`` and as its archive ``cs``."""
    terms: list[str] = []
    for c in categories:
        for t in (c.lower(), c.lower().split(".")[0]):
            if t and t not in terms:
                terms.append(t)
    return terms


def _nums(searcher: tantivy.Searcher, addrs: list[tantivy.DocAddress]) -> list[int]:
    """The hits' paper numbers from the ``num`` fast field: one columnar read for all of them,
    where fetching each stored document cost ~7 microseconds a hit (0.7 ms per 100 at 1M)."""
    values = searcher.fast_field_values("num", addrs) if addrs else []
    return [
        int(v) if v is not None else int(searcher.doc(a)["num"][0])
        for v, a in zip(values, addrs, strict=True)
    ]


class KeywordIndex:
    """One tantivy index directory; reopened searchers see committed writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.analyzer = _analyzer()
        self.index.register_tokenizer(ANALYZER, self.analyzer)
        self.index.register_tokenizer(LOWER_RAW, _lower_raw())
        names = _names_analyzer()
        self._field_analyzers = {
            "title": self.analyze,
            "abstract": self.analyze,
            "authors": lambda t: list(names.analyze(t)),
        }
        self._writer: tantivy.IndexWriter | None = None
        self.words = WordTerms(lambda text: list(self.analyzer.analyze(text)))

    @classmethod
    def recreate(cls, path: Path) -> KeywordIndex:
        if path.exists():
            shutil.rmtree(path)
        return cls(path)

    # -- writing ---------------------------------------------------------------------------
    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=0)
        return self._writer

    def upsert(self, docs: Iterable[KeywordDoc]) -> int:
        n = 0
        for d in docs:
            self.writer.delete_documents_by_term("num", d.num)
            doc = tantivy.Document()
            doc.add_integer("num", d.num)
            doc.add_text("title", d.title)
            doc.add_text("abstract", d.abstract)
            for a in d.authors:
                doc.add_text("authors", a)
            for c in category_terms(d.categories):
                doc.add_text("cats", c)
            doc.add_integer("year", d.year or 0)
            doc.add_integer("day", d.day or 0)
            doc.add_integer("has_code", 1 if d.has_code else 0)
            self.writer.add_document(doc)
            n += 1
        return n

    def delete(self, nums: Iterable[int]) -> None:
        for num in nums:
            self.writer.delete_documents_by_term("num", num)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.index.reload()

    # -- reading ---------------------------------------------------------------------------
    def num_docs(self) -> int:
        return int(self.index.searcher().num_docs)

    def doc_freq_lookup(self, field: str = "abstract") -> tuple[Callable[[str], int], int]:
        """``(doc_freq, num_docs)`` over one snapshot of the index, for tf-idf weighting.

        Query expansion and the recommender's keyword profile look up many terms at once; one
        searcher for them all keeps the counts consistent and saves opening one per term.
        """
        searcher = self.index.searcher()
        return (lambda term: int(searcher.doc_freq(field, term))), max(int(searcher.num_docs), 1)

    def analyze(self, text: str) -> list[str]:
        """The index's own terms for a text (stemmed, stop words gone), as tantivy makes them;
        each word's are remembered (:mod:`papersift.index.word_terms`)."""
        return self.words.analyze(text)

    def terms_found(self, texts: Sequence[str], terms: Collection[str]) -> list[set[str]]:
        """For each text, which of ``terms`` it holds (the rerank's coverage features)."""
        return self.words.terms_found(texts, terms)

    def analyze_word(self, word: str) -> tuple[str, ...]:
        """One word's terms (snippets analyse a word at a time)."""
        return self.words.of_word(word)

    def term_weights(self, text: str) -> dict[str, float]:
        """Each distinct term of ``text`` with its BM25 idf over the abstracts (the rerank's
        coverage features weigh a query's terms by it)."""
        doc_freq, n = self.doc_freq_lookup("abstract")
        return {t: bm25_idf(doc_freq(t), n) for t in dict.fromkeys(self.analyze(text))}

    def _filter_queries(self, f: Filters) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        s = self.schema
        must = tantivy.Occur.Must
        out: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for name in f.authors:
            words = [w.lower() for w in name.replace(".", " ").replace(",", " ").split() if w]
            words = [w for w in words if len(w) > 1] or words
            if not words:
                continue
            q = (
                tantivy.Query.term_query(s, "authors", words[0])
                if len(words) == 1
                else tantivy.Query.phrase_query(
                    s, "authors", list[str | tuple[int, str]](words), slop=1
                )
            )
            out.append((must, q))
        if f.categories:
            terms = [
                tantivy.Query.term_query(s, "cats", c.lower().removesuffix(".*"))
                for c in f.categories
            ]
            out.append(
                (must, tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms]))
            )
        for c in f.exclude_categories:
            q = tantivy.Query.term_query(s, "cats", c.lower().removesuffix(".*"))
            out.append((tantivy.Occur.MustNot, q))
        if f.year_from or f.year_to:
            q = tantivy.Query.range_query(
                s, "year", tantivy.FieldType.Integer, f.year_from or 1, f.year_to or 9999
            )
            out.append((must, q))
        if f.has_code:
            out.append((must, tantivy.Query.term_query(s, "has_code", 1)))
        return out

    def build_query(
        self, text: str, filters: Filters, expansion: list[tuple[str, float]] | None = None
    ) -> tantivy.Query | None:
        """None when there is nothing to rank by and nothing to filter on.

        ``expansion``: extra weighted terms (pseudo-relevance feedback), already analysed.
        """
        parts: list[tuple[tantivy.Occur, tantivy.Query]] = []
        q = build_text_query(self.schema, parse_clauses(text), self._field_analyzers, expansion)
        flt = self._filter_queries(filters)
        if not flt:
            # The text query alone, not wrapped as the one required clause of another boolean
            # query: the same scores and matches, and tantivy walks it ~10% faster (2.7M papers,
            # 300 title and phrase queries: p95 38.5 -> 35.0 ms with the count, 35.0 -> 30.5
            # without).
            return q
        if q is not None:
            parts.append((tantivy.Occur.Must, q))
        if not parts:
            parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(parts + flt)

    def search(
        self,
        text: str,
        filters: Filters | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        sort: str = "relevance",
        expansion: list[tuple[str, float]] | None = None,
        count: bool = True,
    ) -> tuple[list[tuple[int, float]], int]:
        """Ranked ``(num, bm25)`` pairs and the total number of matches.

        ``count=False`` skips counting every match (the total is then 0): ~10% of a query over
        1M papers, for callers that only want the top hits.
        """
        query = self.build_query(text, filters or Filters(), expansion)
        if query is None or limit <= 0:
            return [], 0
        searcher = self.index.searcher()
        kwargs: dict[str, object] = {"limit": limit, "offset": offset, "count": count}
        if sort == "date":
            kwargs["order_by_field"] = "day"
            kwargs["order"] = tantivy.Order.Desc
        result = searcher.search(query, **kwargs)  # type: ignore[arg-type]
        nums = _nums(searcher, [addr for _, addr in result.hits])
        hits = [
            (num, float(score) if sort != "date" else 0.0)
            for num, (score, _) in zip(nums, result.hits, strict=True)
        ]
        return hits, int(getattr(result, "count", 0) or 0)

    def filter_nums(self, filters: Filters, limit: int) -> list[int] | None:
        """Every paper passing the filters (None when there are no filters)."""
        if filters.is_empty():
            return None
        hits, _ = self.search("", filters, limit=limit, count=False)
        return [n for n, _ in hits]

    def search_query(
        self,
        query: tantivy.Query,
        *,
        limit: int,
        offset: int = 0,
        order_by_day: str | None = None,
    ) -> tuple[list[tuple[int, float]], int]:
        """Run a query built outside this class (e.g. from the arXiv query language).

        ``(num, bm25)`` pairs and the total number of matches; ``order_by_day`` ("asc" or
        "desc") orders by publication day instead of score (scores are then 0). ``limit`` 0
        only counts.
        """
        searcher = self.index.searcher()
        kwargs: dict[str, object] = {"limit": max(limit, 1), "offset": offset, "count": True}
        if order_by_day:
            kwargs["order_by_field"] = "day"
            kwargs["order"] = tantivy.Order.Asc if order_by_day == "asc" else tantivy.Order.Desc
        result = searcher.search(query, **kwargs)  # type: ignore[arg-type]
        total = int(getattr(result, "count", 0) or 0)
        if limit <= 0:
            return [], total
        nums = _nums(searcher, [addr for _, addr in result.hits])
        hits = [
            (num, 0.0 if order_by_day else float(score))
            for num, (score, _) in zip(nums, result.hits, strict=True)
        ]
        return hits, total

    def suggest(self, text: str, limit: int = 8) -> list[int]:
        """Papers whose title holds the typed words, the last one possibly half typed.

        Search-as-you-type for a browser's search box: every complete word must be in the
        title, and some title term must start with the last, partial word (or equal its stem).
        Terms are stems, so "transfo" finds "Transformer" (stem "transform").
        """
        words = text.split()
        if not words:
            return []
        partial = "" if text[-1:].isspace() else words.pop()
        s = self.schema
        must = tantivy.Occur.Must
        parts: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for w in words[:20]:
            parts += [(must, tantivy.Query.term_query(s, "title", t)) for t in self.analyze(w)]
        prefix = "".join(c for c in unicodedata.normalize("NFKD", partial.lower()) if c.isalnum())
        prefix = prefix.encode("ascii", "ignore").decode()[:40]
        if prefix:
            options = [tantivy.Query.regex_query(s, "title", re.escape(prefix) + ".*")]
            options += [tantivy.Query.term_query(s, "title", t) for t in self.analyze(prefix)]
            parts.append(
                (must, tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in options]))
            )
        if not parts:
            return []
        hits, _ = self.search_query(tantivy.Query.boolean_query(parts), limit=limit)
        return [n for n, _ in hits]
