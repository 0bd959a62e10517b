"""arXiv API source: recorded Atom responses replayed through httpx.MockTransport (no network)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest

from papersift.ingest.arxiv_api import (
    SOURCE,
    ArxivApiError,
    build_query,
    fetch,
    parse_feed,
)
from papersift.ingest.normalize import clean_record
from papersift.ingest.records import ParseProblem

from .conftest import (
    Replay,
    assert_billion_laughs_inert,
    assert_external_entity_inert,
    problems,
    records,
)

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_api"
QUERY = "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202412310000 TO 202501312359]"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def atom(name: str) -> httpx.Response:
    return httpx.Response(
        200, content=fixture(name), headers={"Content-Type": "application/atom+xml; charset=utf-8"}
    )


# --------------------------------------------------------------------------- fetch


def test_fetch_pages_through_three_pages_politely() -> None:
    replay = Replay(atom("search_page1.xml"), atom("search_page2.xml"), atom("search_page3.xml"))
    sleeps: list[float] = []

    items = list(fetch(QUERY, client=replay.client(), page_size=2, sleep=sleeps.append))

    assert [r.arxiv_id for r in records(items)] == [
        "2501.00663",
        "2501.04519",
        "2501.05366",
        "2501.19393",
    ]
    assert len(problems(items)) == 1
    # totalResults=5 reached after page 3: no fourth request.
    assert len(replay.requests) == 3
    assert [replay.params(i)["start"] for i in range(3)] == ["0", "2", "4"]
    first = replay.params(0)
    assert first == {
        "search_query": QUERY,
        "start": "0",
        "max_results": "2",
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }
    assert replay.requests[0].url.host == "export.arxiv.org"
    assert replay.requests[0].url.path == "/api/query"
    # The three-second politeness delay between requests, never before the first.
    assert sleeps == [3.0, 3.0]


def test_broken_entry_is_a_problem_and_the_rest_parse() -> None:
    replay = Replay(atom("search_page1.xml"), atom("search_page2.xml"), atom("search_page3.xml"))

    items = list(fetch(QUERY, client=replay.client(), page_size=2, sleep=lambda _: None))

    (problem,) = problems(items)
    assert problem.source == SOURCE
    assert problem.where == "page 2 entry 2"
    assert "2501.12948" in problem.message
    assert "updated" in problem.message
    assert items.index(problem) == 3  # in place, between the records around it


def test_max_results_shrinks_the_last_request() -> None:
    replay = Replay(atom("search_page1.xml"), atom("search_page2.xml"))

    items = list(
        fetch(QUERY, client=replay.client(), page_size=2, max_results=3, sleep=lambda _: None)
    )

    assert len(items) == 3
    assert [replay.params(i)["max_results"] for i in range(2)] == ["2", "1"]


def test_api_error_entry_is_a_problem_and_stops_paging() -> None:
    replay = Replay(atom("error_feed.xml"))

    items = list(fetch("id:1234.12345", client=replay.client(), sleep=lambda _: None))

    assert items == [
        ParseProblem(
            SOURCE, "page 1 entry 1", "arXiv API error: incorrect id format for 1234.12345"
        )
    ]
    assert len(replay.requests) == 1


def test_empty_first_page_ends_the_fetch() -> None:
    replay = Replay(atom("empty_page.xml"))

    assert list(fetch(QUERY, client=replay.client(), sleep=lambda _: None)) == []
    assert len(replay.requests) == 1


def test_spuriously_empty_page_mid_results_is_asked_again() -> None:
    replay = Replay(
        atom("search_page1.xml"),
        atom("empty_page.xml"),
        atom("search_page2.xml"),
        atom("search_page3.xml"),
    )
    sleeps: list[float] = []

    items = list(fetch(QUERY, client=replay.client(), page_size=2, sleep=sleeps.append))

    assert len(items) == 5
    assert [replay.params(i)["start"] for i in range(4)] == ["0", "2", "2", "4"]
    assert sleeps == [3.0, 3.0, 3.0]


def test_5xx_and_timeout_are_retried_with_backoff_and_retry_after() -> None:
    replay = Replay(
        httpx.Response(503, headers={"Retry-After": "20"}, text="Service Unavailable"),
        httpx.ReadTimeout("read timed out"),
        atom("search_page3.xml"),
    )
    sleeps: list[float] = []

    items = list(
        fetch(QUERY, client=replay.client(), max_results=1, sleep=sleeps.append, backoff_s=5.0)
    )

    assert [r.arxiv_id for r in records(items)] == ["2501.19393"]
    # 503 asked for 20 s (more than backoff 5 s); the timeout then backs off 10 s.
    assert sleeps == [20.0, 10.0]
    assert len(replay.requests) == 3


def test_rate_limit_429_is_retried() -> None:
    replay = Replay(httpx.Response(429, text="Rate exceeded."), atom("search_page3.xml"))
    sleeps: list[float] = []

    items = list(
        fetch(QUERY, client=replay.client(), max_results=1, sleep=sleeps.append, backoff_s=1.0)
    )

    assert len(records(items)) == 1
    assert sleeps == [3.0]  # never less than the politeness delay


def test_network_failure_after_retries_names_the_url() -> None:
    replay = Replay(*[httpx.ConnectError("connection refused") for _ in range(4)])

    with pytest.raises(ArxivApiError) as caught:
        list(fetch(QUERY, client=replay.client(), retries=3, sleep=lambda _: None))

    assert len(replay.requests) == 4
    assert caught.value.url is not None
    assert caught.value.url.startswith("https://export.arxiv.org/api/query?")
    assert "start=0" in caught.value.url
    assert "after 4 attempts" in str(caught.value)
    assert "ConnectError" in str(caught.value)


def test_client_error_is_not_retried() -> None:
    replay = Replay(httpx.Response(400, text="max_results must be <= 30000"))

    with pytest.raises(ArxivApiError, match="HTTP 400"):
        list(fetch(QUERY, client=replay.client(), sleep=lambda _: None))
    assert len(replay.requests) == 1


def test_malformed_page_raises_a_clear_error_after_good_pages() -> None:
    replay = Replay(atom("search_page1.xml"), atom("truncated_page.xml"))
    results = fetch(QUERY, client=replay.client(), page_size=2, sleep=lambda _: None)

    assert len([next(results), next(results)]) == 2
    with pytest.raises(ArxivApiError) as caught:
        next(results)

    message = str(caught.value)
    assert "page 2" in message
    assert "malformed Atom XML" in message
    assert caught.value.url is not None and "start=2" in caught.value.url


def test_non_feed_response_is_an_error() -> None:
    replay = Replay(httpx.Response(200, text="<html><body>Maintenance</body></html>"))

    with pytest.raises(ArxivApiError, match="not an Atom feed"):
        list(fetch(QUERY, client=replay.client(), sleep=lambda _: None))


# --------------------------------------------------------------------------- parse_feed


def test_feed_info_and_entry_fields() -> None:
    items, info = parse_feed(fixture("search_page3.xml"))

    assert (info.total_results, info.start_index, info.items_per_page) == (5, 4, 2)
    assert info.error is None
    (paper,) = records(items)
    assert paper.source == SOURCE
    assert (paper.arxiv_id, paper.version) == ("2501.19393", 3)
    assert paper.title == "s1: Simple test-time scaling"
    assert paper.abstract.startswith("Test-time scaling is a promising")
    assert paper.authors == ["Niklas Muennighoff", "Zitong Yang", "Weijia Shi", "Xiang Lisa Li"]
    assert paper.categories == ["cs.CL", "cs.AI", "cs.LG"]
    assert paper.published == date(2025, 1, 31)
    assert paper.updated == date(2025, 3, 1)
    assert paper.comment == "46 pages (9 main), 10 figures, 15 tables"
    assert paper.abs_url == "https://arxiv.org/abs/2501.19393v3"
    assert paper.pdf_url == "https://arxiv.org/pdf/2501.19393v3"
    assert paper.extra["affiliations"] == [
        ["Stanford University"],
        ["Stanford University"],
        ["University of Washington", "Allen Institute for AI"],
        [],
    ]


def test_primary_category_first_and_acm_classes_kept_apart() -> None:
    items, _ = parse_feed(fixture("search_page2.xml"))

    search_o1 = records(items)[0]
    assert search_o1.categories == ["cs.AI", "cs.CL", "cs.IR"]
    assert search_o1.extra["primary_category"] == "cs.AI"
    assert search_o1.extra["other_classes"] == ["I.2.7"]


def test_entry_without_optional_elements() -> None:
    items, _ = parse_feed(fixture("search_page1.xml"))

    titans = records(items)[0]
    assert titans.doi is None and titans.comment is None and titans.journal_ref is None
    assert "affiliations" not in titans.extra
    assert titans.version == 1


def test_legacy_feed_old_style_ids_versions_doi_and_journal_ref() -> None:
    items, info = parse_feed(fixture("legacy_id_list.xml"))

    assert info.total_results == 3
    h1, popolitov, imamura = records(items)
    # <id> carries no version here; the alternate link says v1.
    assert (h1.arxiv_id, h1.version) == ("hep-ex/0307015", 1)
    assert h1.authors == ["H1 Collaboration"]
    assert h1.journal_ref == "Eur.Phys.J. C31 (2003) 17-29"
    assert h1.comment == "23 pages, 8 figures and 4 tables"
    assert h1.published == date(2003, 7, 7)  # 13:46:39-04:00 is still the 7th in UTC
    assert (popolitov.arxiv_id, popolitov.version) == ("0710.2073", 2)
    assert popolitov.doi == "10.1134/S0021364007210011"
    assert popolitov.published == date(2007, 10, 10)
    assert popolitov.updated == date(2007, 10, 12)
    assert (imamura.arxiv_id, imamura.version) == ("hep-th/9901001", 3)
    assert imamura.doi == "10.1143/PTP.101.1155"
    assert imamura.pdf_url == "http://arxiv.org/pdf/hep-th/9901001v3"


def test_doi_falls_back_to_the_doi_link() -> None:
    content = fixture("legacy_id_list.xml").replace(
        b'<arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1134/S0021364007210011'
        b"</arxiv:doi>",
        b"",
    )
    items, _ = parse_feed(content)

    popolitov = records(items)[1]
    assert popolitov.doi == "http://dx.doi.org/10.1134/S0021364007210011"
    assert clean_record(popolitov).doi == "10.1134/s0021364007210011"


def test_parsed_records_survive_clean_record() -> None:
    items, _ = parse_feed(fixture("legacy_id_list.xml"))

    cleaned = clean_record(records(items)[0])
    assert cleaned.title == (
        "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    )
    assert cleaned.arxiv_id == "hep-ex/0307015"


def test_where_without_prefix_and_str_input() -> None:
    items, _ = parse_feed(fixture("search_page2.xml").decode("utf-8"))

    assert problems(items)[0].where == "entry 2"


def test_entry_without_arxiv_id_or_title_is_a_problem() -> None:
    content = (
        fixture("search_page1.xml")
        .replace(b"http://arxiv.org/abs/2501.00663v1</id>", b"http://arxiv.org/abs/</id>")
        .replace(
            b"<title>rStar-Math: Small LLMs Can Master Math Reasoning with Self-Evolved Deep\n"
            b"  Thinking</title>",
            b"<title>  </title>",
        )
    )
    items, _ = parse_feed(content, where_prefix="page 7")

    assert [p.where for p in problems(items)] == ["page 7 entry 1", "page 7 entry 2"]
    assert "not an arXiv abstract URL" in problems(items)[0].message
    assert problems(items)[1].message == "2501.04519: entry has no title"


def test_external_entities_are_not_expanded() -> None:
    items, _ = parse_feed(fixture("external_entity.xml"))

    assert_external_entity_inert(items)


def test_billion_laughs_is_not_expanded() -> None:
    assert_billion_laughs_inert(
        lambda: parse_feed(fixture("billion_laughs.xml"))[0], ArxivApiError, "malformed Atom XML"
    )


# --------------------------------------------------------------------------- build_query


def test_build_query_categories_and_date_range() -> None:
    query = build_query(["cs.LG", "cs.CL"], date(2025, 1, 1), date(2025, 1, 31), None)

    assert query == "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202501010000 TO 202501312359]"


def test_build_query_single_category_and_free_text() -> None:
    query = build_query(["hep-th"], None, None, 'string "heterotic junction"')

    assert query == 'cat:hep-th AND all:string AND all:"heterotic junction"'


def test_build_query_keeps_arxiv_syntax_as_written() -> None:
    assert build_query(None, None, None, "au:del_maestro ANDNOT ti:checkerboard") == (
        "au:del_maestro ANDNOT ti:checkerboard"
    )
    assert build_query(["cs.IR"], None, None, "ti:retrieval OR abs:reranking") == (
        "cat:cs.IR AND (ti:retrieval OR abs:reranking)"
    )


def test_build_query_open_ended_date_range() -> None:
    query = build_query(None, None, date(1999, 1, 31), None)

    assert query == "submittedDate:[199101010000 TO 199901312359]"


def test_build_query_needs_something_to_search() -> None:
    with pytest.raises(ValueError):
        build_query([], None, None, "  ")
