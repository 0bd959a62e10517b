"""The arXiv API at /api/query, driven by the `arxiv` package from PyPI against a live server on
loopback: the client's only change is its base URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import arxiv
import httpx
import pytest
from conftest import SMALL, live_server, make_catalog
from fastapi.testclient import TestClient
from lxml import etree

from papersift.records import PaperRecord
from papersift.service.arxiv_compat import ArxivEntry, ArxivPage, ArxivParams
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.store.papers import upsert_batch
from papersift.web.app import create_app
from papersift.web.compat_arxiv import render_feed

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}
HOSTILE_TITLE = "Tom & Jerry <script>alert(\"x\")</script> ]]> 'quoted' learning"

EXTRA = [
    PaperRecord(
        title="Quantum criticality of hot random spin chains",
        abstract="We study the real-space renormalization group of random spin chains.",
        authors=["Juan del Maestro", "R. Vasseur"],
        arxiv_id="cond-mat/0611001",
        version=3,
        categories=["cond-mat.dis-nn", "cond-mat.str-el"],
        published=date(2006, 11, 1),
        updated=date(2008, 2, 20),
        comment="12 pages, 4 figures",
        journal_ref="Phys. Rev. B 77, 1 (2008)",
        doi="10.1103/PhysRevB.77.000001",
        source="test",
    ),
    PaperRecord(
        title=HOSTILE_TITLE,
        abstract="An abstract with <tags> & ampersands, for escaping tests.",
        authors=["O'Brien & Sons"],
        arxiv_id="2301.00001",
        version=1,
        categories=["cs.LG"],
        published=date(2023, 1, 2),
        source="test",
    ),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    cat = make_catalog(tmp_path_factory.mktemp("arxiv-compat"))
    ingest(cat, [*SMALL, *EXTRA], source="test", location="fixture")
    yield cat
    cat.close()


@pytest.fixture(scope="module")
def server(corpus: Catalog) -> Iterator[str]:
    with live_server(corpus) as url:
        yield url


@pytest.fixture
def client(server: str) -> arxiv.Client:
    c = arxiv.Client(page_size=100, delay_seconds=0, num_retries=0)
    c.query_url_format = server + "/api/query?{}"  # the one change from arXiv's client
    return c


def feed(server: str, **params: str) -> tuple[int, etree._Element]:
    r = httpx.get(server + "/api/query", params=params)
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    return r.status_code, etree.fromstring(r.content)


def opensearch(root: etree._Element, name: str) -> int:
    return int(root.findtext(f"opensearch:{name}", namespaces=NS))


# -- through the arxiv package ----------------------------------------------------------------
def test_arxiv_client_searches_papersift_like_arxiv(client: arxiv.Client) -> None:
    results = list(client.results(arxiv.Search(query='au:del_maestro AND ti:"random spin"')))
    assert [r.get_short_id() for r in results] == ["cond-mat/0611001v3"]
    r = results[0]
    assert r.entry_id == "http://arxiv.org/abs/cond-mat/0611001v3"
    assert r.title == "Quantum criticality of hot random spin chains"
    assert [a.name for a in r.authors] == ["Juan del Maestro", "R. Vasseur"]
    assert r.summary.startswith("We study the real-space renormalization group")
    assert r.published == datetime(2006, 11, 1, tzinfo=UTC)
    assert r.updated == datetime(2008, 2, 20, tzinfo=UTC)
    assert r.primary_category == "cond-mat.dis-nn"
    assert r.categories == ["cond-mat.dis-nn", "cond-mat.str-el"]
    assert r.pdf_url == "http://arxiv.org/pdf/cond-mat/0611001v3"
    assert (r.comment, r.journal_ref) == ("12 pages, 4 figures", "Phys. Rev. B 77, 1 (2008)")
    assert r.doi == "10.1103/physrevb.77.000001"  # papersift stores DOIs lower-cased


def test_arxiv_client_pages_through_all_results(server: str) -> None:
    c = arxiv.Client(page_size=2, delay_seconds=0, num_retries=0)
    c.query_url_format = server + "/api/query?{}"
    search = arxiv.Search(query="cat:cs", max_results=None,
                          sort_by=arxiv.SortCriterion.SubmittedDate)  # fmt: skip
    ids = [r.get_short_id() for r in c.results(search)]
    # Five cs papers in three pages of two, newest first.
    assert ids == ["2301.00001v1", "2002.05709", "1908.03265", "1706.03762v5", "1511.06452"]


def test_sort_orders(client: arxiv.Client) -> None:
    def ids(**kw: object) -> list[str]:
        search = arxiv.Search(query="cat:cs.LG OR cat:cond-mat", **kw)
        return [r.get_short_id().split("v")[0] for r in client.results(search)]

    oldest_first = ids(sort_by=arxiv.SortCriterion.SubmittedDate,
                       sort_order=arxiv.SortOrder.Ascending)  # fmt: skip
    assert oldest_first == ["cond-mat/0611001", "1706.03762", "1908.03265", "2002.05709",
                            "2301.00001"]  # fmt: skip
    # Updated in 2008, the spin-chain paper is still the least recently updated.
    by_update = ids(sort_by=arxiv.SortCriterion.LastUpdatedDate)
    assert by_update == list(reversed(oldest_first))
    relevant = ids(sort_by=arxiv.SortCriterion.Relevance)
    assert sorted(relevant) == sorted(oldest_first)


def test_id_list_with_and_without_versions(client: arxiv.Client) -> None:
    search = arxiv.Search(id_list=["2002.05709", "1706.03762v1", "cond-mat/0611001v3"])
    results = list(client.results(search))
    # In the order asked; the stored (newest) version is what papersift has.
    assert [r.get_short_id() for r in results] == [
        "2002.05709", "1706.03762v5", "cond-mat/0611001v3"
    ]  # fmt: skip
    both = arxiv.Search(query="cat:cs.LG", id_list=["2002.05709", "1511.06452", "1706.03762"])
    assert {r.get_short_id() for r in client.results(both)} == {"2002.05709", "1706.03762v5"}


def test_unknown_ids_are_left_out_and_malformed_ids_are_errors(
    client: arxiv.Client, server: str
) -> None:
    assert list(client.results(arxiv.Search(id_list=["2101.00001"]))) == []
    with pytest.raises(arxiv.HTTPError) as err:
        list(client.results(arxiv.Search(id_list=["1234.12345"])))
    assert err.value.status == 400
    status, root = feed(server, id_list="1706.03762,1234.12345")
    assert status == 400
    assert root.findtext("atom:entry/atom:summary", namespaces=NS) == (
        "incorrect id format for 1234.12345"
    )


def test_papers_without_an_arxiv_id_link_to_their_papersift_page(
    client: arxiv.Client, server: str
) -> None:
    [r] = client.results(arxiv.Search(query="abs:sorghum"))
    assert r.entry_id == server + "/paper/doi:10.1000/plants.2021.1"
    assert r.doi == "10.1000/plants.2021.1" and r.pdf_url is None
    assert httpx.get(r.entry_id).status_code == 200  # the id is a page that exists


# -- the feed itself ----------------------------------------------------------------------------
def test_feed_has_arxivs_namespaces_and_opensearch_counts(server: str) -> None:
    status, root = feed(server, search_query="cat:cs", start="1", max_results="2")
    assert status == 200
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.nsmap == {None: NS["atom"], "opensearch": NS["opensearch"], "arxiv": NS["arxiv"]}
    assert (opensearch(root, "totalResults"), opensearch(root, "startIndex")) == (5, 1)
    assert opensearch(root, "itemsPerPage") == 2
    entries = root.findall("atom:entry", NS)
    assert len(entries) == 2
    links = entries[0].findall("atom:link", NS)
    assert {(link.get("rel"), link.get("title")) for link in links} >= {
        ("alternate", None),
        ("related", "pdf"),
    }
    assert entries[0].find("arxiv:primary_category", NS).get("scheme") == NS["arxiv"]
    assert root.find("atom:link", NS).get("rel") == "self"
    assert "search_query=cat:cs" in root.findtext("atom:title", namespaces=NS)


def test_titles_with_xml_characters_are_escaped(server: str, client: arxiv.Client) -> None:
    raw = httpx.get(server + "/api/query", params={"id_list": "2301.00001"}).text
    assert "<script>" not in raw and "&lt;script&gt;" in raw and "Tom &amp; Jerry" in raw
    [r] = client.results(arxiv.Search(id_list=["2301.00001"]))
    assert r.title == HOSTILE_TITLE
    assert [a.name for a in r.authors] == ["O'Brien & Sons"]
    assert r.summary == "An abstract with <tags> & ampersands, for escaping tests."


def test_control_characters_never_break_the_feed(corpus: Catalog, server: str) -> None:
    # Stored text that bypassed ingest's clean-up (a direct database import) still renders.
    # (Its category keeps it out of the other tests' cat:cs results.)
    bad = PaperRecord(title="Nul\x00 and vertical\x0btab in a title", abstract="form\x0cfeed",
                      arxiv_id="2302.00002", categories=["q-fin.GN"], source="import")  # fmt: skip
    with corpus.store.session() as s:
        upsert_batch(s, [bad])
    corpus.sync(embed=False)
    status, root = feed(server, id_list="2302.00002")
    assert status == 200
    assert root.findtext("atom:entry/atom:title", namespaces=NS) == (
        "Nul and verticaltab in a title"
    )


def test_render_feed_escapes_everything_it_is_given() -> None:
    when = datetime(2020, 1, 1, tzinfo=UTC)
    entry = ArxivEntry(id="http://arxiv.org/abs/2001.00001v1", published=when, updated=when,
                       title="a < b && c > d", summary="]]><x/>", authors=['"Q" <q@x>'],
                       categories=["cs.LG"], primary_category="cs.LG",
                       abs_url="http://arxiv.org/abs/2001.00001v1?a=1&b=2", pdf_url=None,
                       comment="<!-- no -->", journal_ref=None, doi=None)  # fmt: skip
    page = ArxivPage(ArxivParams(search_query='ti:"<x>" & y'), total=1, entries=[entry])
    body = render_feed(page, self_url="http://h/api/query?a=1&b=2", base_url="http://h")
    root = etree.fromstring(body)
    e = root.find("atom:entry", NS)
    assert e.findtext("atom:title", namespaces=NS) == "a < b && c > d"
    assert e.findtext("atom:summary", namespaces=NS) == "]]><x/>"
    assert e.findtext("arxiv:comment", namespaces=NS) == "<!-- no -->"
    assert e.find("atom:link", NS).get("href") == "http://arxiv.org/abs/2001.00001v1?a=1&b=2"
    assert b"<x/>" not in body


# -- errors and limits ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "not_an_int"}, "start must be an integer"),
        ({"start": "-1"}, "start must be >= 0"),
        ({"max_results": "ten"}, "max_results must be an integer"),
        ({"max_results": "-1"}, "max_results must be >= 0"),
        ({"sortBy": "citations"}, "sortBy must be one of"),
        ({"sortOrder": "up"}, "sortOrder must be ascending or descending"),
        ({"id_list": "cond—mat/0709123"}, "incorrect id format for cond—mat/0709123"),
        ({"search_query": "ti:(deep"}, "unclosed parenthesis"),
        ({"search_query": "co:NeurIPS"}, "co: (comment) is not searchable"),
        ({"search_query": 'au:"unterminated'}, "unbalanced quote"),
        ({"search_query": "AND AND"}, "needs a term on its left"),
        ({"search_query": "id:99999"}, "incorrect id format for 99999"),
        ({"search_query": "x" * 5000}, "longer than 4000"),
    ],
)
def test_bad_requests_get_arxivs_error_feed(
    server: str, params: dict[str, str], message: str
) -> None:
    status, root = feed(server, **params)
    assert status == 400
    [entry] = root.findall("atom:entry", NS)
    assert entry.findtext("atom:title", namespaces=NS) == "Error"
    assert message in entry.findtext("atom:summary", namespaces=NS)
    assert entry.findtext("atom:id", namespaces=NS).startswith(server + "/api/errors#")
    assert opensearch(root, "totalResults") == 1


def test_huge_pages_are_clamped_and_far_pages_are_empty(server: str) -> None:
    status, root = feed(server, search_query="cat:cs", max_results="50000")
    assert status == 200 and opensearch(root, "itemsPerPage") == 2000
    assert len(root.findall("atom:entry", NS)) == 5
    status, root = feed(server, search_query="cat:cs", start=str(10**15), max_results="2000")
    assert status == 200 and root.findall("atom:entry", NS) == []
    assert opensearch(root, "totalResults") == 5  # the count stays true past the window
    status, root = feed(server, search_query="cat:cs", max_results="0")
    assert status == 200 and root.findall("atom:entry", NS) == []
    assert opensearch(root, "totalResults") == 5


def test_empty_request_is_an_empty_feed(server: str) -> None:
    status, root = feed(server)
    assert status == 200 and opensearch(root, "totalResults") == 0


def test_arxiv_query_is_rate_limited_like_search(tmp_path: Path) -> None:
    cat = make_catalog(tmp_path / "d")
    cat.settings.search_rate_per_minute = 2
    with TestClient(create_app(catalog=cat)) as c:
        codes = [c.get("/api/query", params={"search_query": "x"}).status_code for _ in range(3)]
    cat.close()
    assert codes == [200, 200, 429]
