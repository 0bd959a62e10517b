"""The Hugging Face daily-papers parser, on 65 real days and on drifting or broken responses."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from papersift.ingest import hf_daily
from papersift.ingest.files import FormatError
from papersift.ingest.records import PaperRecord, ParseProblem

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DAYS = DATA / "hf-daily"
needs_days = pytest.mark.skipif(not DAYS.is_dir(), reason=f"shared sample missing: {DAYS}")


def _item(**paper: Any) -> dict[str, Any]:
    """A minimal daily-papers item in the API's shape, with the submitter's profile attached."""
    base = {
        "id": "2510.00001",
        "title": "A Paper",
        "summary": "An abstract.",
        "authors": [{"_id": "x", "name": "Ada Lovelace", "hidden": False}],
        "publishedAt": "2025-10-01T12:00:00.000Z",
        "submittedOnDailyAt": "2025-10-02T00:55:06.135Z",
        "upvotes": 3,
        "submittedOnDailyBy": {"avatarUrl": "https://cdn/avatar.png", "user": "someone"},
    }
    base.update(paper)
    return {
        "paper": base,
        "numComments": 2,
        "submittedBy": {"avatarUrl": "https://cdn/avatar.png", "fullname": "Some One"},
        "organization": {"name": "org", "avatar": "https://cdn/org.png"},
    }


@needs_days
def test_every_saved_day_parses_without_problems() -> None:
    files = sorted(DAYS.glob("*.json"))
    records: list[PaperRecord] = []
    for path in files:
        items = list(hf_daily.parse(path))
        assert not [i for i in items if isinstance(i, ParseProblem)], path.name
        day_records = [i for i in items if isinstance(i, PaperRecord)]
        assert {r.extra["hf_daily_date"] for r in day_records} == {path.stem}
        records += day_records

    assert len(files) == 65
    assert len(records) == 1251
    assert sum(bool(r.code_urls) for r in records) == 571
    assert all(r.arxiv_id and r.title and r.authors and r.published for r in records)
    assert all(isinstance(r.extra["hf_upvotes"], int) for r in records)


@needs_days
def test_known_paper_maps_metadata_and_leaves_profiles_out() -> None:
    first = next(iter(hf_daily.parse(DAYS / "2025-10-01.json")))

    assert isinstance(first, PaperRecord)
    assert first.source == "hf-daily"
    assert first.arxiv_id == "2509.25541"
    assert first.title.startswith("Vision-Zero: Scalable VLM Self-Improvement")
    assert first.authors[0] == "Qinsi Wang" and first.authors[-1] == "Wentian Zhao"
    assert len(first.authors) == 9
    assert first.published == date(2025, 9, 29)
    assert first.code_urls == ["https://github.com/wangqinsi1/Vision-Zero"]
    assert first.extra == {
        "hf_upvotes": 55,
        "hf_daily_date": "2025-10-01",
        "github_stars": 6,
        "num_comments": 1,
    }
    assert "avatar" not in repr(first) and "taesiri" not in repr(first)


def test_live_payload_takes_the_day_from_submitted_on_daily_at() -> None:
    (record,) = hf_daily.parse_payload([_item()])

    assert isinstance(record, PaperRecord)
    assert record.extra == {"hf_upvotes": 3, "hf_daily_date": "2025-10-02", "num_comments": 2}
    assert record.authors == ["Ada Lovelace"]
    assert "avatar" not in repr(record)


def test_explicit_day_wins_and_wrappers_or_single_items_are_accepted() -> None:
    wrapped = list(
        hf_daily.parse_payload({"papers": [_item(), _item(id="2510.00002")]}, day="2025-12-31")
    )
    single = list(hf_daily.parse_payload(_item()))

    assert [r.extra["hf_daily_date"] for r in wrapped if isinstance(r, PaperRecord)] == [
        "2025-12-31"
    ] * 2
    assert len(single) == 1 and isinstance(single[0], PaperRecord)


def test_schema_drift_falls_back_to_item_fields_and_tolerates_types() -> None:
    item = _item(title=None, summary=None, authors=["Plain Name", {"name": None}, 7], upvotes="12")
    item |= {"title": "Item-level title", "summary": "Item-level summary", "numComments": None}
    item["paper"].pop("publishedAt")
    item["publishedAt"] = "2025-09-30T20:00:00.000Z"
    item["paper"]["githubRepo"] = None

    (record,) = hf_daily.parse_payload([item])

    assert isinstance(record, PaperRecord)
    assert (record.title, record.abstract) == ("Item-level title", "Item-level summary")
    assert record.authors == ["Plain Name"]
    assert record.published == date(2025, 9, 30)
    assert record.code_urls == []
    assert record.extra == {"hf_upvotes": 12, "hf_daily_date": "2025-10-02"}


def test_bad_items_are_reported_by_position_and_the_rest_parse() -> None:
    payload = [
        _item(),
        "not an object",
        {"paper": ["a", "list"]},
        _item(title="", id="2510.00004"),
        _item(title={"en": "A dict"}),
        _item(id="2510.00006", title="Last good"),
    ]

    items = list(hf_daily.parse_payload(payload, where_prefix="2025-10-02.json "))

    problems = [i for i in items if isinstance(i, ParseProblem)]
    assert [r.title for r in items if isinstance(r, PaperRecord)] == ["A Paper", "Last good"]
    assert [p.where for p in problems] == [f"2025-10-02.json item {n}" for n in (2, 3, 4, 5)]
    assert all(p.source == "hf-daily" for p in problems)


def test_non_arxiv_ids_keep_the_record_and_the_raw_id() -> None:
    (record,) = hf_daily.parse_payload([_item(id="hf-paper-xyz")])

    assert isinstance(record, PaperRecord)
    assert record.arxiv_id is None
    assert record.extra["hf_paper_id"] == "hf-paper-xyz"


def test_gzipped_file_with_a_date_in_its_name(tmp_path: Path) -> None:
    path = tmp_path / "daily_papers_2025-11-05.json.gz"
    path.write_bytes(gzip.compress(json.dumps([_item()]).encode()))

    (record,) = hf_daily.parse(path)

    assert isinstance(record, PaperRecord)
    assert record.extra["hf_daily_date"] == "2025-11-05"


@pytest.mark.parametrize(
    "content", ["<html>rate limited</html>", "42", '{"error": "Not found"}', ""]
)
def test_a_file_that_is_not_a_daily_response_raises_with_its_path(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "2025-10-01.json"
    path.write_text(content)

    with pytest.raises(FormatError, match=r"2025-10-01\.json"):
        list(hf_daily.parse(path))
