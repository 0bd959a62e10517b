"""Records with text but no title: titled by their opening words, ranked by their text alone."""

from __future__ import annotations

from sqlalchemy import select

from papersift.records import PaperRecord
from papersift.service import searching
from papersift.service.catalog import Catalog, keyword_doc
from papersift.service.ingesting import ingest
from papersift.store.papers import embed_text
from papersift.store.schema import Paper
from papersift.titles import is_made_title, ranked_title, title_from_abstract

FIQA_LIKE = [
    "Yes. Index funds keep their fees low because they track a market index passively.",
    "A mortgage broker is paid a commission by the lender, not by you.",
    "Dividends are paid out of a company's profits, usually every quarter, to shareholders.",
]


def test_a_made_title_is_the_first_sentence_or_the_first_words() -> None:
    assert title_from_abstract("  ") == ""
    assert title_from_abstract("How do I learn Python?") == "How do I learn Python?"
    assert title_from_abstract(FIQA_LIKE[0]) == FIQA_LIKE[0]  # "Yes." alone is too short
    long = " ".join(f"word{i}" for i in range(40))
    assert title_from_abstract(long) == " ".join(f"word{i}" for i in range(20)) + "…"
    twenty = " ".join(f"word{i}" for i in range(20))
    assert title_from_abstract(twenty) == twenty  # all of it: nothing left out, no ellipsis
    unspaced = "x" * 1_000
    assert title_from_abstract(unspaced) == "x" * 200 + "…"
    for text in ("How do I learn Python?", long, twenty, unspaced, FIQA_LIKE[1]):
        assert is_made_title(title_from_abstract(text), text)


def test_a_real_title_that_opens_the_abstract_stays_a_title() -> None:
    abstract = "The Protein Data Bank (PDB) is the single worldwide archive of structures."
    assert not is_made_title("The Protein Data Bank", abstract)
    assert ranked_title("The Protein Data Bank", abstract) == "The Protein Data Bank"
    assert not is_made_title("Attention Is All You Need", "We propose the Transformer.")
    assert not is_made_title("How do I", "How do I learn Python?")
    assert is_made_title("How do I learn Python?", "How do I learn Python?")


def test_untitled_records_are_stored_searchable_and_ranked_by_their_text(
    catalog: Catalog,
) -> None:
    records = [PaperRecord(title="", abstract=text, source="fiqa") for text in FIQA_LIKE]
    report = ingest(catalog, records, source="fiqa", location="corpus.jsonl")
    assert (report.inserted, report.problems, report.embedded) == (3, 0, 3)

    with catalog.store.session() as s:
        papers = list(s.scalars(select(Paper).order_by(Paper.num)))
        titles = [p.title for p in papers]
        # The encoder and the keyword index see each text once, with no title repeated.
        assert [embed_text(p.title, p.abstract) for p in papers] == FIQA_LIKE
        assert [keyword_doc(p).title for p in papers] == ["", "", ""]
    assert titles[1] == FIQA_LIKE[1]
    # Title-only search (as-you-type suggestions) finds none of them: no title was indexed.
    assert catalog.keyword.suggest("mortgage broker") == []

    out = searching.search(catalog, "who pays a mortgage broker", mode="hybrid")
    assert out.hits[0].paper.title == FIQA_LIKE[1]
    assert "<mark>broker</mark>" in out.hits[0].snippet_html
