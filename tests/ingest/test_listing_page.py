"""Saved listing pages: the three real pages (631 entries) and hand-edited variants."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from papersift.ingest import listing_page
from papersift.ingest.records import PaperRecord, ParseProblem

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PAGES = DATA / "listing-pages"
needs_pages = pytest.mark.skipif(not PAGES.is_dir(), reason=f"shared sample missing: {PAGES}")

ABSTRACT_A = (
    "We study how models learn from data. Our method improves accuracy on three benchmarks "
    "while using fewer parameters, and we release code and trained weights for others to use. "
    "Experiments show consistent gains across tasks and settings."
)
ABSTRACT_B = (
    "Training sets are often noisy. We propose a loss that is robust to label noise and prove "
    "that it converges, then show that it beats strong baselines on four data sets with up to "
    "forty percent of the labels flipped."
)


def _split(items: list[PaperRecord | ParseProblem]) -> tuple[list[PaperRecord], list[ParseProblem]]:
    records = [i for i in items if isinstance(i, PaperRecord)]
    problems = [i for i in items if isinstance(i, ParseProblem)]
    return records, problems


@needs_pages
@pytest.mark.parametrize(
    ("name", "expected"),
    [("loss-functions.txt", 92), ("neural-networks.txt", 294), ("training-set.txt", 245)],
)
def test_saved_pages_yield_every_entry(name: str, expected: int) -> None:
    records, problems = _split(list(listing_page.parse(PAGES / name)))

    assert problems == []
    assert len(records) == expected
    assert all(r.title and len(r.abstract) > 250 for r in records)
    assert {r.source for r in records} == {"listing-page"}
    assert {r.extra["listing_file"] for r in records} == {name}


@needs_pages
def test_all_pages_together_hold_the_631_entries_the_readme_counts() -> None:
    total = sum(
        isinstance(item, PaperRecord)
        for page in sorted(PAGES.glob("*.txt"))
        for item in listing_page.parse(page)
    )

    assert total == 631


@needs_pages
def test_title_glued_to_subscribe_and_titles_with_questions_survive() -> None:
    records = [
        r for r in listing_page.parse(PAGES / "training-set.txt") if isinstance(r, PaperRecord)
    ]
    titles = {
        r.title
        for r in listing_page.parse(PAGES / "neural-networks.txt")
        if isinstance(r, PaperRecord)
    }

    assert records[0].title == "Maximum Independent Set: Self-Training through Dynamic Programming"
    assert records[0].abstract.startswith(
        "This work presents a graph neural network (GNN) framework"
    )
    assert "When to Pre-Train Graph Neural Networks? From Data Generation Perspective!" in titles


def test_hand_edited_page_with_crlf_boilerplate_and_missing_abstract(tmp_path: Path) -> None:
    page = "\r\n".join(
        [
            "Get trending papers in your email inbox once a day!",
            "Get trending papers in your email inbox!",
            "SubscribeFirst Paper: A Study",
            ABSTRACT_A,
            "",
            "Submitted by",
            "akhaliq",
            "42",
            "Mar 11",
            "Second Paper Lost Its Abstract",
            "Third Paper: Does It Work? Yes!",
            "",
            ABSTRACT_B,
            "byAK and the research community",
            "· 5 authors",
            "Last Title Without Abstract",
        ]
    )
    path = tmp_path / "edited.txt"
    path.write_bytes(page.encode("utf-8"))

    records, problems = _split(list(listing_page.parse(path)))

    assert problems == []
    assert [(r.title, r.abstract) for r in records] == [
        ("First Paper: A Study", ABSTRACT_A),
        ("Second Paper Lost Its Abstract", ""),
        ("Third Paper: Does It Work? Yes!", ABSTRACT_B),
        ("Last Title Without Abstract", ""),
    ]
    assert all(r.extra == {"listing_file": "edited.txt"} for r in records)


def test_abstract_without_a_title_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "orphan.txt"
    path.write_text(f"Subscribe\n{ABSTRACT_A}\nA Real Title\n{ABSTRACT_B}\n")

    items = list(listing_page.parse(path))

    assert isinstance(items[0], ParseProblem)
    assert (items[0].where, items[0].source) == ("line 2", "listing-page")
    assert isinstance(items[1], PaperRecord) and items[1].title == "A Real Title"


def test_windows_1252_bytes_gzip_and_odd_unicode(tmp_path: Path) -> None:
    page = b"Caf\xe9 Networks for Na\xefve Learners\n" + ABSTRACT_A.encode() + b"\n"
    page += "Ünïcödé 🚀 Title\n".encode() + ABSTRACT_B.encode() + b"\n"
    path = tmp_path / "saved.txt.gz"
    path.write_bytes(gzip.compress(page))

    records, problems = _split(list(listing_page.parse(path)))

    assert problems == []
    assert [r.title for r in records] == ["Café Networks for Naïve Learners", "Ünïcödé 🚀 Title"]
    assert records[0].extra["listing_file"] == "saved.txt.gz"


def test_old_mac_line_endings_and_a_truncated_download(tmp_path: Path) -> None:
    mac = tmp_path / "mac.txt"
    mac.write_bytes(f"First Title\r{ABSTRACT_A}\rSecond Title\r{ABSTRACT_B}\r".encode())
    cut = tmp_path / "cut.txt.gz"
    packed = gzip.compress(("\n".join([f"Title {i}\n{ABSTRACT_A}" for i in range(200)])).encode())
    cut.write_bytes(packed[:-40])

    mac_records, _ = _split(list(listing_page.parse(mac)))
    cut_records, cut_problems = _split(list(listing_page.parse(cut)))

    assert [r.title for r in mac_records] == ["First Title", "Second Title"]
    assert 0 < len(cut_records) <= 200
    assert len(cut_problems) == 1 and "ends early" in cut_problems[0].message
