"""The JSONL/CSV parser: the real CSV sample, the arxiv-large scraper files, and damaged rows."""

from __future__ import annotations

import gzip
import json
import tarfile
from datetime import date
from pathlib import Path

import pytest

from papersift.ingest import tabular
from papersift.ingest.files import FormatError, split_authors
from papersift.ingest.normalize import clean_record
from papersift.ingest.records import PaperRecord, ParseProblem

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CSV_SAMPLE = DATA / "arxiv-sample" / "arxiv_data_1000.csv"
LARGE = DATA / "arxiv-large"
needs_csv = pytest.mark.skipif(
    not CSV_SAMPLE.exists(), reason=f"shared sample missing: {CSV_SAMPLE}"
)
needs_large = pytest.mark.skipif(not LARGE.is_dir(), reason=f"shared sample missing: {LARGE}")


def _split(items: list[PaperRecord | ParseProblem]) -> tuple[list[PaperRecord], list[ParseProblem]]:
    records = [i for i in items if isinstance(i, PaperRecord)]
    problems = [i for i in items if isinstance(i, ParseProblem)]
    return records, problems


def _extract(tarball: Path, member: str, dest: Path) -> Path:
    """Stream one member out of a scraper tarball (members near the front: fast)."""
    with tarfile.open(tarball, "r|gz") as tar:
        for info in tar:
            if info.name == member:
                handle = tar.extractfile(info)
                assert handle is not None
                dest.write_bytes(handle.read())
                return dest
    raise AssertionError(f"{member} not in {tarball}")


@needs_csv
def test_csv_sample_with_multiline_abstracts_and_literal_term_lists() -> None:
    records, problems = _split(list(tabular.parse(CSV_SAMPLE)))

    assert problems == []
    assert len(records) == 1000
    first = records[0]
    assert first.source == "csv"
    assert first.title == "Neural ODEs for Image Segmentation with Level Sets"
    assert first.abstract.startswith("We propose a novel approach for image segmentation")
    assert "\n" in first.abstract  # quoted multi-line field kept whole
    assert first.categories == ["cs.CV", "cs.LG", "eess.IV"]
    assert all(r.categories for r in records)


@needs_large
def test_arxiv_large_standard_files_parse_with_ids_and_links(tmp_path: Path) -> None:
    path = _extract(
        LARGE / "daily-arxiv-dw-dengwei-data-branch.tar.gz",
        "data/2025-09-01.jsonl",
        tmp_path / "2025-09-01.jsonl",
    )

    records, problems = _split(list(tabular.parse(path)))

    assert problems == [] and len(records) == 166
    first = records[0]
    assert first.source == "jsonl"
    assert first.arxiv_id == "2508.21080"
    assert first.title.startswith("2COOOL: 2nd Workshop")
    assert first.authors[:2] == ["Ali K. AlShami", "Ryan Rabinowitz"]
    assert first.categories[:2] == ["cs.CV", "cs.RO"]
    assert first.abs_url == "https://arxiv.org/abs/2508.21080"
    assert first.pdf_url == "https://arxiv.org/pdf/2508.21080"
    assert first.comment and first.comment.startswith("11 pages")


@needs_large
def test_arxiv_large_variants_cate_string_and_versioned_ids(tmp_path: Path) -> None:
    tarball = LARGE / "daily-arxiv-dw-dengwei-pull-refs.tar.gz"
    versioned = _extract(tarball, "pull-128/data/2026-06-17.jsonl", tmp_path / "p128.jsonl")
    cate = _extract(tarball, "pull-16/data/2025-06-09.jsonl", tmp_path / "p16.jsonl")

    v_records, v_problems = _split(list(tabular.parse(versioned)))
    c_records, c_problems = _split(list(tabular.parse(cate)))

    assert v_problems == [] and len(v_records) == 250
    assert (v_records[0].arxiv_id, v_records[0].version) == ("2606.18250", 1)
    assert v_records[0].published == date(2026, 6, 16)
    assert c_problems == [] and len(c_records) == 1463
    assert all(r.categories and r.arxiv_id for r in c_records)
    with_url_only = [r for r in c_records if r.pdf_url and "v1" in r.pdf_url]
    assert with_url_only and with_url_only[0].abs_url is None


def test_csv_damage_is_reported_at_the_record_start_line(tmp_path: Path) -> None:
    path = tmp_path / "damaged.csv"
    path.write_text(
        "title,abstract,authors\n"
        'Good one,"multi\nline abstract","A. B; C. D"\n'  # lines 2-3
        'Unterminated,"this quote never closes,X\n'  # line 4
        'Second good,plain,"E. F, G. H and I. J"\n'  # line 5
        "Too few fields,only\n"  # line 6
        ",,K. L\n"  # line 7: no title, no abstract
        "Third good,abstract,M. N\n",  # line 8
        encoding="utf-8",
    )

    records, problems = _split(list(tabular.parse(path)))

    assert [r.title for r in records] == ["Good one", "Second good", "Third good"]
    assert records[0].authors == ["A. B", "C. D"]
    assert records[1].authors == ["E. F", "G. H", "I. J"]
    assert [(p.where, p.source) for p in problems] == [
        ("line 4", "csv"),
        ("line 6", "csv"),
        ("line 7", "csv"),
    ]
    assert "unterminated quote" in problems[0].message


def test_unterminated_quote_at_the_end_does_not_swallow_earlier_rows(tmp_path: Path) -> None:
    path = tmp_path / "eof.csv"
    path.write_text('title,abstract\nA,"never closed\nB,fine\n')

    items = list(tabular.parse(path))

    assert isinstance(items[0], ParseProblem) and items[0].where == "line 2"
    assert isinstance(items[1], PaperRecord) and items[1].title == "B"


def test_jsonl_damage_and_wrong_types_are_reported_per_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Good", "authors": ["X"], "categories": "cs.LG, cs.AI"}),
        '{"title": "Truncated',
        json.dumps({"title": {"nested": "object"}}),
        json.dumps({"title": "Bad authors", "authors": {"name": "not a list"}}),
        json.dumps({"authors": ["Z"], "doi": "10.1/x"}),
        json.dumps({"title": "Also good", "authors": "[{'name': 'Y'}]", "date": 1_700_000_000_000}),
    ]
    path = tmp_path / "damaged.jsonl"
    path.write_text("\n".join(lines) + "\n")

    records, problems = _split(list(tabular.parse(path)))

    assert [r.title for r in records] == ["Good", "Also good"]
    assert records[0].categories == ["cs.LG", "cs.AI"]
    assert records[1].authors == ["Y"]
    assert records[1].published == date(2023, 11, 14)  # pandas writes epoch milliseconds
    assert [p.where for p in problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert "no title or abstract field" in problems[-1].message


def test_mapping_names_the_columns_and_detection_fills_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Name,Body,ArXiv,Keywords,Published,Repo\n"
        'My paper,Some <b>HTML</b> &amp; text,arXiv:2401.12345v2,"[""cs.IR""]",2024-01-15,'
        "https://github.com/o/r\n"
    )

    (record,) = tabular.parse(
        path,
        mapping={
            "title": "Name",
            "abstract": "Body",
            "categories": "keywords",
            "code_urls": "Repo",
        },
    )

    assert isinstance(record, PaperRecord)
    assert record.title == "My paper"
    assert record.abstract == "Some <b>HTML</b> &amp; text"  # clean-up happens later
    assert (record.arxiv_id, record.version) == ("2401.12345", 2)
    assert record.categories == ["cs.IR"]
    assert record.published == date(2024, 1, 15)
    assert record.code_urls == ["https://github.com/o/r"]


def test_mapping_mistakes_raise_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("title\nA\n")

    with pytest.raises(ValueError, match="tittle"):
        tabular.parse(path, mapping={"tittle": "title"})
    with pytest.raises(FormatError, match=r"x\.csv"):
        list(tabular.parse(path, mapping={"abstract": "missing_column"}))


def test_csv_without_a_title_column_raises_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("a,b\n1,2\n")

    with pytest.raises(FormatError, match=r"numbers\.csv"):
        list(tabular.parse(path))


def test_list_cells_never_execute_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    marker = tmp_path / "pwned"
    path.write_text(
        f"title,terms\n\"Evil\",\"[__import__('pathlib').Path(r'{marker}').touch()]\"\n"
    )

    (record,) = tabular.parse(path)

    assert isinstance(record, PaperRecord)
    assert not marker.exists()


def test_huge_fields_gzip_bom_and_format_override(tmp_path: Path) -> None:
    abstract = "word " * 100_000  # beyond csv's default 128 kB field limit
    text = "\ufefftitle,abstract\n" + f'"Ünïcödé 🚀 title","{abstract}"\n'
    path = tmp_path / "export.txt.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))

    (record,) = tabular.parse(path, fmt="csv")

    assert isinstance(record, PaperRecord)
    assert record.title == "Ünïcödé 🚀 title"
    assert record.abstract == abstract
    assert record.source == "csv"


def test_tab_separated_files_and_non_arxiv_ids(tmp_path: Path) -> None:
    path = tmp_path / "corpus.tsv"
    path.write_text("id\ttitle\ttext\n4983\tA biomedical title.\tAn abstract.\n")

    (record,) = tabular.parse(path)

    assert isinstance(record, PaperRecord)
    assert record.arxiv_id is None
    assert record.extra == {"source_id": "4983"}
    assert record.abstract == "An abstract."


def test_a_json_array_is_not_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text(json.dumps([{"title": "x"}]))

    with pytest.raises(FormatError, match=r"papers\.jsonl"):
        list(tabular.parse(path))


def test_split_authors_drops_affiliations_and_keeps_suffixes() -> None:
    names = split_authors(
        "A. Smith (1,2), B. Jones, Jr., C. O'Neil III and\n  D. Wu ((1) MIT, (2) CERN), et al."
    )

    assert names == ["A. Smith", "B. Jones Jr.", "C. O'Neil III", "D. Wu"]


def test_windows_1252_rows_keep_their_accents(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "title,authors\nUTF-8 row,Zoë Ünal\n".encode() + b"Excel row,Jos\xe9 Mar\xeda\n"
    )

    first, second = tabular.parse(path)

    assert isinstance(first, PaperRecord) and first.authors == ["Zoë Ünal"]
    assert isinstance(second, PaperRecord) and second.authors == ["José María"]


def test_rows_without_a_title_are_titled_by_their_opening_words(tmp_path: Path) -> None:
    """A BEIR corpus such as FiQA or Quora, or a CSV of notes, has text but no titles."""
    beir = tmp_path / "corpus.jsonl"
    beir.write_text(
        json.dumps({"_id": "31793", "title": "", "text": "Yes. Index funds track the market."})
        + "\n"
        + json.dumps({"_id": "8", "title": "", "text": "How do index funds keep fees low?"})
        + "\n"
        + json.dumps({"_id": "9", "title": " ", "text": " "})
        + "\n"
    )
    notes = tmp_path / "notes.csv"
    notes.write_text("abstract,authors\n" + " ".join(f"w{i}" for i in range(30)) + ",A. B\n")

    items = list(tabular.parse(beir, mapping={"title": "title", "abstract": "text"}))
    records, problems = _split(items)
    assert [clean_record(r).title for r in records] == [
        "Yes. Index funds track the market.",  # a sentence end counts after four words
        "How do index funds keep fees low?",
    ]
    assert [p.message for p in problems] == ["empty title and abstract"]
    assert records[0].extra["source_id"] == "31793"

    (note,) = [clean_record(r) for r in tabular.parse(notes)]
    assert note.title == " ".join(f"w{i}" for i in range(20)) + "…"
    assert note.authors == ["A. B"]

    neither = tmp_path / "neither.csv"
    neither.write_text("authors,doi\nA. B,10.1/x\n")
    with pytest.raises(FormatError, match="no title or abstract column"):
        list(tabular.parse(neither))
