"""Browser integration (OpenSearch description, suggestions, shareable search URLs) and the
OpenAPI document listing every compatibility endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import SMALL, make_catalog
from fastapi.testclient import TestClient
from lxml import etree

import papersift.web as web
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.web.app import create_app

OS = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
TEMPLATES = Path(web.__file__).parent / "templates"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    cat = make_catalog(tmp_path_factory.mktemp("opensearch"))
    ingest(cat, list(SMALL), source="test", location="fixture")
    yield cat
    cat.close()


@pytest.fixture(scope="module")
def client(catalog: Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=catalog)) as c:
        yield c


def test_every_compatibility_endpoint_is_in_openapi(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ["/api/papers/search", "/api/papers/{arxiv_id}", "/papers/{arxiv_id}.md",
                 "/api/query", "/opensearch.xml", "/api/suggest"]:  # fmt: skip
        assert "get" in paths.get(path, {}), f"{path} missing from OpenAPI"
    query_params = {p["name"] for p in paths["/api/query"]["get"]["parameters"]}
    assert {"search_query", "id_list", "start", "max_results", "sortBy", "sortOrder"} <= (
        query_params
    )
    assert "application/atom+xml" in paths["/api/query"]["get"]["responses"]["200"]["content"]
    search_params = {p["name"] for p in paths["/api/papers/search"]["get"]["parameters"]}
    assert {"q", "limit"} <= search_params


def test_opensearch_description_points_at_this_server(client: TestClient) -> None:
    r = client.get("/opensearch.xml", headers={"host": "papers.example.org"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/opensearchdescription+xml"
    root = etree.fromstring(r.content)
    assert root.findtext("os:ShortName", namespaces=OS) == "papersift"
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", OS)}
    assert urls["text/html"] == "http://papers.example.org/?q={searchTerms}"
    assert urls["application/x-suggestions+json"] == (
        "http://papers.example.org/api/suggest?q={searchTerms}"
    )
    assert urls["application/atom+xml"] == (
        "http://papers.example.org/api/query?search_query={searchTerms}"
    )


def test_host_header_cannot_inject_markup_into_the_description(client: TestClient) -> None:
    r = client.get("/opensearch.xml", headers={"host": 'evil"><x a="'})
    root = etree.fromstring(r.content)  # still well-formed XML
    assert root.find("x") is None and root.find("os:x", OS) is None


SEARCH_LINK = (
    '<link rel="search" type="application/opensearchdescription+xml" title="papersift" '
    'href="/opensearch.xml">'
)


@pytest.mark.parametrize("path", ["/", "/?q=attention", "/similar", "/?q=x+year:soon"])
def test_pages_link_the_opensearch_description(client: TestClient, path: str) -> None:
    assert SEARCH_LINK in client.get(path).text, path


def test_every_page_template_extends_the_base_that_holds_the_link() -> None:
    base = TEMPLATES / "base.html"
    assert SEARCH_LINK in base.read_text()
    pages = [p for p in TEMPLATES.glob("*.html") if p != base and not p.name.startswith("_")]
    assert pages
    for page in pages:
        assert '{% extends "base.html" %}' in page.read_text(), page.name


@pytest.mark.parametrize(
    ("typed", "titles"),
    [
        ("atten", ["Attention Is All You Need"]),
        ("Attention is al", ["Attention Is All You Need"]),
        ("learning ra", ["On the Variance of the Adaptive Learning Rate and Beyond"]),
        ("contrastive ", ["A Simple Framework for Contrastive Learning of Visual Representations"]),
        ("photosynth", ["Photosynthesis efficiency in C4 crops under drought"]),
        ("zebra", []),
        ("   ", []),
        ("", []),
        ('"(*:^', []),
    ],
)
def test_suggestions_complete_titles(client: TestClient, typed: str, titles: list[str]) -> None:
    r = client.get("/api/suggest", params={"q": typed})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-suggestions+json"
    assert json.loads(r.content) == [typed, titles]


def test_suggestions_have_their_own_rate_limit(catalog: Catalog) -> None:
    settings = catalog.settings.model_copy(update={"search_rate_per_minute": 3})
    with TestClient(create_app(settings, catalog=catalog)) as c:
        codes = [c.get("/api/suggest", params={"q": "att"}).status_code for _ in range(4)]
        search = c.get("/api/search", params={"q": "attention"}).status_code
    assert codes == [200, 200, 200, 429]
    assert search == 200  # typing did not use up the client's searches


def test_search_urls_are_stable_and_shareable(client: TestClient) -> None:
    params = {"q": "learning", "mode": "keyword", "sort": "date", "author": "Liu",
              "cat": "cs.LG", "year_from": "2015", "year_to": "2021", "has_code": ""}  # fmt: skip
    url = "/?" + "&".join(f"{k}={v}" for k, v in params.items())
    first = client.get(url).text
    assert "On the Variance of the Adaptive Learning Rate" in first
    assert "Attention Is All You Need" not in first  # author filter applied from the URL
    # Every parameter comes back in the form, so submitting it again gives the same URL.
    for name in ("q", "author", "cat", "year_from", "year_to"):
        assert f'name="{name}" value="{params[name]}"' in first
    assert 'value="keyword" checked' in first and 'value="date" selected' in first
    assert client.get(url).text.count('<li class="hit') == first.count('<li class="hit')
    # Facet links keep every other parameter.
    facet = re.search(r'href="(/\?[^"]*cat=cs\.LG[^"]*)"', first)
    assert facet is not None
    kept = dict(parse_qsl(urlsplit(facet.group(1).replace("&amp;", "&")).query))
    assert {kept[k] for k in ("q", "mode", "sort", "author")} == {"learning", "keyword", "date",
                                                                  "Liu"}  # fmt: skip
