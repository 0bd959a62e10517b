"""arXiv OAI-PMH source: recorded ListRecords responses replayed through httpx.MockTransport."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest

from papersift.ingest.arxiv_metadata import SOURCE, split_authors
from papersift.ingest.arxiv_oai import OaiError, OaiHarvestError, harvest, parse_list_records

from .conftest import (
    Replay,
    assert_billion_laughs_inert,
    assert_external_entity_inert,
    no_sleep,
    problems,
    records,
)

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_oai"
RAW_TOKEN = (
    "verb%3DListRecords%26metadataPrefix%3DarXivRaw%26set%3Dcs%253Acs%253ACL"
    "%26from%3D2025-03-01%26skip%3D2"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def xml(name: str) -> httpx.Response:
    return httpx.Response(
        200, content=fixture(name), headers={"Content-Type": "text/xml; charset=utf-8"}
    )


def flow_control(retry_after: str = "7") -> httpx.Response:
    """arXiv's 503 + Retry-After flow-control reply."""
    return httpx.Response(
        503,
        content=fixture("retry_after_503.html"),
        headers={"Retry-After": retry_after, "Content-Type": "text/html; charset=iso-8859-1"},
    )


# --------------------------------------------------------------------------- harvest


def test_harvest_follows_the_resumption_token() -> None:
    replay = Replay(xml("arxiv_page1.xml"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []
    tokens: list[str] = []

    items = list(
        harvest(
            client=replay.client(),
            set_spec="physics:hep-ph",
            date_from=date(2008, 11, 26),
            date_until=date(2008, 12, 13),
            sleep=sleeps.append,
            on_token=tokens.append,
        )
    )

    assert [r.arxiv_id for r in records(items)] == [
        "0704.0001",
        "hep-th/9901001",
        "0704.0002",
        "0704.0004",
        "0705.0123",
    ]
    assert len(problems(items)) == 1
    assert replay.requests[0].url.host == "export.arxiv.org"
    assert replay.requests[0].url.path == "/oai2"
    assert replay.params(0) == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "physics:hep-ph",
        "from": "2008-11-26",
        "until": "2008-12-13",
    }
    # A resumed request carries the token alone, as OAI-PMH requires.
    assert replay.params(1) == {"verb": "ListRecords", "resumptionToken": "6960524|1001"}
    assert tokens == ["6960524|1001"]
    assert sleeps == [3.0]


def test_on_token_fires_only_after_the_page_is_consumed() -> None:
    replay = Replay(xml("arxiv_page1.xml"), xml("arxiv_page2.xml"))
    tokens: list[str] = []
    results = harvest(client=replay.client(), sleep=no_sleep, on_token=tokens.append)

    for _ in range(3):  # page 1 holds three live records (plus one deleted)
        next(results)
    assert tokens == []
    assert len(replay.requests) == 1

    next(results)  # first record of page 2
    assert tokens == ["6960524|1001"]


def test_harvest_resumes_from_a_saved_token() -> None:
    replay = Replay(xml("arxivraw_page2.xml"))

    items = list(
        harvest(
            client=replay.client(),
            metadata_prefix="arXivRaw",
            set_spec="ignored when resuming",
            date_from=date(2025, 3, 1),
            resumption_token=RAW_TOKEN,
            sleep=no_sleep,
        )
    )

    assert replay.params(0) == {"verb": "ListRecords", "resumptionToken": RAW_TOKEN}
    assert [r.arxiv_id for r in records(items)] == ["2501.05366"]


def test_arxivraw_harvest_passes_opaque_tokens_through_unchanged() -> None:
    replay = Replay(xml("arxivraw_page1.xml"), xml("arxivraw_page2.xml"))
    tokens: list[str] = []

    items = list(
        harvest(
            client=replay.client(),
            metadata_prefix="arXivRaw",
            set_spec="cs:cs:CL",
            date_from=date(2025, 3, 1),
            sleep=no_sleep,
            on_token=tokens.append,
        )
    )

    assert tokens == [RAW_TOKEN]
    assert replay.params(1)["resumptionToken"] == RAW_TOKEN
    assert [r.arxiv_id for r in records(items)] == ["0704.0001", "2501.19393", "2501.05366"]
    (problem,) = problems(items)
    assert problem.where == "page 2 record 2 (oai:arXiv.org:2501.12948)"
    assert "unreadable version date" in problem.message


def test_503_retry_after_is_honoured() -> None:
    replay = Replay(flow_control("7"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []

    items = list(harvest(client=replay.client(), sleep=sleeps.append))

    assert len(records(items)) == 2
    assert sleeps == [7.0]
    assert replay.params(0) == replay.params(1)  # the same request, again


def test_retry_after_never_undercuts_the_politeness_delay() -> None:
    replay = Replay(flow_control("1"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []

    list(harvest(client=replay.client(), sleep=sleeps.append))

    assert sleeps == [3.0]


def test_retry_after_as_http_date() -> None:
    replay = Replay(flow_control("Wed, 21 Oct 2015 07:28:00 GMT"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []

    list(harvest(client=replay.client(), sleep=sleeps.append))

    assert sleeps == [3.0]  # a date in the past: no extra wait beyond the delay


def test_503_retries_are_bounded() -> None:
    replay = Replay(flow_control("7"), flow_control("7"), flow_control("7"))
    sleeps: list[float] = []

    with pytest.raises(OaiHarvestError) as caught:
        list(harvest(client=replay.client(), sleep=sleeps.append, max_retries=2))

    assert len(replay.requests) == 3
    assert sleeps == [7.0, 7.0]
    assert "after 3 attempts" in str(caught.value) and "HTTP 503" in str(caught.value)
    assert caught.value.url is not None
    assert caught.value.url.startswith("https://export.arxiv.org/oai2?verb=ListRecords")


def test_huge_retry_after_is_capped() -> None:
    replay = Replay(flow_control("86400"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []

    list(harvest(client=replay.client(), sleep=sleeps.append, max_wait_s=120.0))

    assert sleeps == [120.0]


def test_timeouts_are_retried_with_backoff() -> None:
    replay = Replay(httpx.ConnectTimeout("slow"), xml("arxiv_page2.xml"))
    sleeps: list[float] = []

    items = list(harvest(client=replay.client(), sleep=sleeps.append, backoff_s=10.0))

    assert len(records(items)) == 2
    assert sleeps == [10.0]


def test_no_records_match_is_an_empty_result() -> None:
    replay = Replay(xml("no_records_match.xml"))
    tokens: list[str] = []

    items = list(
        harvest(
            client=replay.client(),
            set_spec="cs:cs:CL",
            date_from=date(2031, 1, 1),
            sleep=no_sleep,
            on_token=tokens.append,
        )
    )

    assert items == []
    assert tokens == []


def test_other_oai_errors_raise_with_their_code() -> None:
    replay = Replay(xml("bad_resumption_token.xml"))

    with pytest.raises(OaiError) as caught:
        list(harvest(client=replay.client(), resumption_token="expired", sleep=no_sleep))

    assert caught.value.code == "badResumptionToken"
    assert "invalid or expired" in caught.value.message
    assert caught.value.url is not None and "resumptionToken=expired" in caught.value.url


def test_malformed_page_raises_a_clear_error() -> None:
    replay = Replay(xml("arxiv_page1.xml"), xml("truncated_page.xml"))
    results = harvest(client=replay.client(), sleep=no_sleep)

    assert len([next(results) for _ in range(3)]) == 3
    with pytest.raises(OaiHarvestError) as caught:
        next(results)

    assert "page 2" in str(caught.value)
    assert "malformed OAI-PMH XML" in str(caught.value)
    assert caught.value.url is not None and "resumptionToken=6960524%7C1001" in caught.value.url


def test_html_answer_with_status_200_is_an_error() -> None:
    replay = Replay(httpx.Response(200, content=fixture("retry_after_503.html")))

    with pytest.raises(OaiHarvestError):
        list(harvest(client=replay.client(), sleep=no_sleep))


def test_repeated_token_stops_an_endless_loop() -> None:
    replay = Replay(xml("arxiv_page1.xml"), xml("arxiv_page1.xml"))

    with pytest.raises(OaiHarvestError, match="repeated"):
        list(harvest(client=replay.client(), sleep=no_sleep))


def test_client_errors_are_not_retried() -> None:
    replay = Replay(httpx.Response(404, text="Not Found"))

    with pytest.raises(OaiHarvestError, match="HTTP 404"):
        list(harvest(client=replay.client(), sleep=no_sleep))
    assert len(replay.requests) == 1


def test_unsupported_metadata_prefix_fails_before_any_request() -> None:
    replay = Replay()

    with pytest.raises(ValueError, match="oai_dc"):
        harvest(client=replay.client(), metadata_prefix="oai_dc")
    assert replay.requests == []


# --------------------------------------------------------------------------- parsing


def test_arxiv_format_fields() -> None:
    items, token = parse_list_records(fixture("arxiv_page1.xml"))

    assert token == "6960524|1001"
    diphoton, imamura, streinu = records(items)  # the deleted record is skipped
    assert diphoton.source == SOURCE
    assert diphoton.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert diphoton.published == date(2007, 4, 2)
    assert diphoton.updated == date(2007, 7, 24)
    assert diphoton.version is None  # the arXiv format carries no version
    assert diphoton.doi == "10.1103/PhysRevD.76.013009"
    assert diphoton.journal_ref == "Phys.Rev.D76:013009,2007"
    assert diphoton.comment == "37 pages, 15 figures; published version"
    assert diphoton.extra["report_no"] == "ANL-HEP-PR-07-12"
    assert diphoton.extra["oai_datestamp"] == "2008-11-26"
    assert imamura.arxiv_id == "hep-th/9901001"  # old-style identifier
    assert streinu.categories == ["math.CO", "cs.CG"]
    assert streinu.extra["oai_sets"] == ["cs", "math"]
    assert streinu.extra["license"] == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def test_arxiv_format_suffix_affiliation_and_broken_record() -> None:
    items, token = parse_list_records(fixture("arxiv_page2.xml"), where_prefix="page 2")

    assert token is None  # the empty final token ends the list
    callan, example = records(items)
    assert callan.updated == callan.published == date(2007, 3, 31)  # no <updated>: never revised
    assert callan.extra["msc_class"] == "05A15"
    assert example.authors == ["John A. Smith Jr", "ATLAS Collaboration"]
    assert example.extra["affiliations"] == [["Example Observatory"], []]
    (problem,) = problems(items)
    assert problem.where == "page 2 record 2 (oai:arXiv.org:0704.0005)"
    assert "2007-04-999" in problem.message


def test_arxivraw_versions_dates_and_authors() -> None:
    items, token = parse_list_records(fixture("arxivraw_page1.xml"), "arXivRaw")

    assert token == RAW_TOKEN
    diphoton, s1 = records(items)
    assert diphoton.version == 2
    assert diphoton.published == date(2007, 4, 2)  # v1: Mon, 2 Apr 2007 19:18:42 GMT
    assert diphoton.updated == date(2007, 7, 24)  # last version
    assert diphoton.authors == ["C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert diphoton.extra["submitter"] == "Pavel Nadolsky"
    assert diphoton.extra["versions"][0] == {
        "version": 1,
        "submitted": "2007-04-02T19:18:42+00:00",
    }
    assert s1.version == 3
    assert (s1.published, s1.updated) == (date(2025, 1, 31), date(2025, 3, 1))
    assert len(s1.authors) == 10
    assert s1.authors[-2:] == ["Emmanuel Cand\\`es", "Tatsunori Hashimoto"]


def test_arxivraw_authors_with_numbered_affiliations() -> None:
    items, token = parse_list_records(fixture("arxivraw_page2.xml"), "arXivRaw")

    assert token is None  # <resumptionToken/>
    search_o1 = records(items)[0]
    assert search_o1.authors == [
        "Xiaoxi Li",
        "Guanting Dong",
        "Jiajie Jin",
        "Yuyao Zhang",
        "Yujia Zhou",
        "Yutao Zhu",
        "Peitian Zhang",
        "Zhicheng Dou",
    ]
    assert search_o1.extra["acm_class"] == "I.2.7"


def test_versions_out_of_document_order() -> None:
    content = fixture("arxivraw_page1.xml").replace(b'version="v1"', b'version="v9"')

    diphoton = records(parse_list_records(content, "arXivRaw")[0])[0]

    assert diphoton.version == 9
    assert diphoton.published == date(2007, 7, 24)  # v2 is now the earliest
    assert diphoton.updated == date(2007, 4, 2)


def test_record_without_expected_metadata_is_a_problem() -> None:
    items, _ = parse_list_records(fixture("arxiv_page1.xml"), "arXivRaw")

    assert records(items) == []
    assert [p.message for p in problems(items)] == ["record has no arXivRaw metadata"] * 3


def test_external_entities_are_not_expanded() -> None:
    items, _ = parse_list_records(fixture("external_entity.xml"))

    assert_external_entity_inert(items)


def test_billion_laughs_is_not_expanded() -> None:
    assert_billion_laughs_inert(
        lambda: parse_list_records(fixture("billion_laughs.xml"))[0],
        OaiHarvestError,
        "malformed OAI-PMH XML",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A. One, B. Two and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("A. One (MIT), B. Two (CERN, Geneva)", ["A. One", "B. Two"]),
        ("A. One (1 and 2), B. Two (2) ((1) MIT, (2) CERN)", ["A. One", "B. Two"]),
        ("John Smith, Jr., Ann Lee", ["John Smith Jr.", "Ann Lee"]),
        ("{\\O}ystein Ore, Paul Erd\\H{o}s", ["{\\O}ystein Ore", "Paul Erd\\H{o}s"]),
        ("H1 Collaboration", ["H1 Collaboration"]),
        ("A. One, B. Two, et al", ["A. One", "B. Two"]),
        ("", []),
    ],
)
def test_split_authors(text: str, expected: list[str]) -> None:
    assert split_authors(text) == expected


def test_redirect_to_the_new_endpoint_is_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "export.arxiv.org":
            moved = request.url.copy_with(host="oaipmh.arxiv.org", path="/oai")
            return httpx.Response(301, headers={"Location": str(moved)})
        return xml("arxiv_page2.xml")

    client = httpx.Client(transport=httpx.MockTransport(handler))  # follow_redirects off

    items = list(harvest(client=client, sleep=no_sleep))

    assert len(records(items)) == 2
