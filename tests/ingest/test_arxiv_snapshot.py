"""The Kaggle arXiv snapshot parser, on the real first 200 lines and on damaged copies."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from papersift.ingest import arxiv_snapshot
from papersift.ingest.files import FormatError
from papersift.ingest.normalize import clean_record
from papersift.ingest.records import PaperRecord, ParseProblem

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLE = DATA / "arxiv-sample" / "arxiv-metadata-oai-snapshot_first200.jsonl"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"shared sample missing: {SAMPLE}")


def _split(items: list[PaperRecord | ParseProblem]) -> tuple[list[PaperRecord], list[ParseProblem]]:
    records = [i for i in items if isinstance(i, PaperRecord)]
    problems = [i for i in items if isinstance(i, ParseProblem)]
    return records, problems


def _write_lines(path: Path, objects: list[object | str]) -> Path:
    """Objects become JSON lines; strings are written verbatim (for broken lines)."""
    lines = [o if isinstance(o, str) else json.dumps(o) for o in objects]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@needs_sample
def test_sample_yields_all_200_records_without_problems() -> None:
    records, problems = _split(list(arxiv_snapshot.parse(SAMPLE)))

    assert problems == []
    assert len(records) == 200
    assert len({r.arxiv_id for r in records}) == 200
    assert {r.source for r in records} == {"arxiv-snapshot"}


@needs_sample
def test_first_record_carries_every_snapshot_field() -> None:
    first = next(iter(arxiv_snapshot.parse(SAMPLE)))

    assert isinstance(first, PaperRecord)
    assert first.arxiv_id == "0704.0001"
    assert first.title.startswith("Calculation of prompt diphoton production cross sections")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert first.version == 2
    assert first.published == date(2007, 4, 2)
    assert first.updated == date(2007, 7, 24)
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert first.comment == "37 pages, 15 figures; published version"
    assert first.categories == ["hep-ph"]
    assert first.abstract.lstrip().startswith("A fully differential calculation")


@needs_sample
def test_affiliations_stay_out_of_author_names_and_suffixes_stay_in() -> None:
    by_id = {r.arxiv_id: r for r in arxiv_snapshot.parse(SAMPLE) if isinstance(r, PaperRecord)}

    assert by_id["0704.0052"].authors == ["Arthur Jaffe", "Gordon Ritter"]
    assert "Neal J. Evans II" in by_id["0704.0009"].authors
    assert all("(" not in a for r in by_id.values() for a in r.authors)
    primary = by_id["0704.0002"].categories
    assert primary == ["math.CO", "cs.CG"]


@needs_sample
def test_parsed_records_pass_the_shared_clean_up() -> None:
    first = next(iter(arxiv_snapshot.parse(SAMPLE)))
    assert isinstance(first, PaperRecord)

    cleaned = clean_record(first)

    assert cleaned.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert cleaned.abs_url == "https://arxiv.org/abs/0704.0001"


@needs_sample
def test_gzipped_snapshot_reads_like_the_plain_one(tmp_path: Path) -> None:
    packed = tmp_path / "snapshot.jsonl.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))

    plain = [r.title for r in arxiv_snapshot.parse(SAMPLE) if isinstance(r, PaperRecord)]
    zipped = [r.title for r in arxiv_snapshot.parse(packed) if isinstance(r, PaperRecord)]

    assert zipped == plain


def test_old_style_id_and_author_string_without_parsed_authors(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "old.jsonl",
        [
            {
                "id": "hep-th/9901001",
                "title": "An old-style paper",
                "authors": "J. Smith Jr. (MIT), A. Bal\\'azs and C. Wu ((1) Some Institute)",
                "categories": "hep-th math.QA",
                "versions": [{"version": "v1", "created": "Fri, 1 Jan 1999 10:00:00 GMT"}],
            }
        ],
    )

    (record,) = arxiv_snapshot.parse(path)

    assert isinstance(record, PaperRecord)
    assert record.arxiv_id == "hep-th/9901001"
    assert record.authors == ["J. Smith Jr.", "A. Bal\\'azs", "C. Wu"]  # LaTeX kept as written
    assert record.categories == ["hep-th", "math.QA"]
    assert (record.version, record.published, record.updated) == (
        1,
        date(1999, 1, 1),
        date(1999, 1, 1),
    )


def test_missing_or_broken_versions_fall_back_to_update_date(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "versions.jsonl",
        [
            {
                "id": "0704.0005",
                "title": "No versions",
                "versions": None,
                "update_date": "2001-01-01",
            },
            {
                "id": "0704.0006v3",
                "title": "Odd versions",
                "versions": ["v1", {"version": "v2", "created": "not a date"}],
                "update_date": "2009-09-09",
            },
        ],
    )

    first, second = arxiv_snapshot.parse(path)

    assert isinstance(first, PaperRecord) and isinstance(second, PaperRecord)
    assert (first.version, first.published, first.updated) == (None, None, date(2001, 1, 1))
    assert (second.version, second.published, second.updated) == (2, None, date(2009, 9, 9))


def test_bad_lines_are_reported_with_their_line_and_the_rest_still_parse(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "damaged.jsonl",
        [
            {"id": "0704.0001", "title": "Good first"},
            '{"id": "0704.0002", "title": "Truncated',
            {"id": "0704.0003", "title": ["not", "a", "string"]},
            "",
            {"id": "0704.0004", "title": "   "},
            [1, 2, 3],
            {"title": "No id at all"},
            {"id": "0704.0007", "title": "Good last", "extra_field": {"nested": True}},
        ],
    )

    records, problems = _split(list(arxiv_snapshot.parse(path)))

    assert [r.title for r in records] == ["Good first", "Good last"]
    assert [p.where for p in problems] == ["line 2", "line 3", "line 5", "line 6", "line 7"]
    assert "invalid JSON" in problems[0].message
    assert "title" in problems[1].message
    assert all(p.source == "arxiv-snapshot" for p in problems)


def test_huge_fields_odd_unicode_and_html_are_kept_as_written(tmp_path: Path) -> None:
    title = "Ünïcödé 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀 \u200bzero\u2011width, ﬁ ligature, עברית"
    abstract = "<p>An <b>HTML</b> abstract</p> " + "x" * 2_000_000
    path = _write_lines(
        tmp_path / "odd.jsonl", [{"id": "2401.00001", "title": title, "abstract": abstract}]
    )

    (record,) = arxiv_snapshot.parse(path)

    assert isinstance(record, PaperRecord)
    assert record.title == title
    assert record.abstract == abstract


def test_invalid_utf8_line_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    good = json.dumps({"id": "2401.00002", "title": "Fine"}).encode()
    path.write_bytes(b'{"id": "2401.00001", "title": "Caf\xe9"}\n' + good + b"\n")

    items = list(arxiv_snapshot.parse(path))

    assert isinstance(items[0], ParseProblem) and items[0].where == "line 1"
    assert isinstance(items[1], PaperRecord) and items[1].title == "Fine"


def test_truncated_download_reports_where_it_ends(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"2401.{i:05d}", "title": f"Paper {i}"}) for i in range(2000)]
    packed = gzip.compress("\n".join(lines).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) - 40])

    records, problems = _split(list(arxiv_snapshot.parse(path)))

    assert 0 < len(records) < 2000
    assert len(problems) == 1 and "ends early" in problems[0].message


def test_a_file_that_is_not_json_lines_raises_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text(json.dumps([{"id": "0704.0001", "title": "x"}]))

    with pytest.raises(FormatError, match=r"array\.json"):
        list(arxiv_snapshot.parse(path))
    assert issubclass(FormatError, ValueError)
