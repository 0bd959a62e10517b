"""The JSON API, exercised over HTTP through FastAPI's test client, checked against OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from papersift.service.catalog import Catalog
from papersift.web.app import create_app


@pytest.fixture
def client(small_catalog: Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=small_catalog)) as c:
        yield c


def _resolve(schema: dict, spec: dict) -> dict:  # type: ignore[type-arg]
    ref = schema.get("$ref")
    if ref:
        return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def assert_matches_schema(value: object, schema: dict, spec: dict) -> None:  # type: ignore[type-arg]
    """A small structural validator for the subset of JSON Schema FastAPI emits."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                assert_matches_schema(value, option, spec)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{value!r} matches none of {errors}")
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), value
        for name in schema.get("required", []):
            assert name in value, f"missing {name}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                assert_matches_schema(value[name], sub, spec)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for v in value.values():
                assert_matches_schema(v, extra, spec)
    elif kind == "array":
        assert isinstance(value, list), value
        for item in value:
            assert_matches_schema(item, schema.get("items", {}), spec)
    elif kind == "string":
        assert isinstance(value, str), value
        if "enum" in schema:
            assert value in schema["enum"]
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), value
    elif kind == "number":
        assert isinstance(value, int | float), value
    elif kind == "boolean":
        assert isinstance(value, bool), value
    elif kind == "null":
        assert value is None


def response_schema(spec: dict, path: str, method: str = "get") -> dict:  # type: ignore[type-arg]
    op = spec["paths"][path][method]
    return op["responses"]["200"]["content"]["application/json"]["schema"]


def test_search_endpoint_returns_documented_json(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    r = client.get("/api/search", params={"q": "learning rate warmup", "mode": "hybrid"})
    assert r.status_code == 200
    body = r.json()
    assert_matches_schema(body, response_schema(spec, "/api/search"), spec)
    assert body["hits"][0]["paper"]["id"] == "arxiv:1908.03265"
    assert body["facets"]["category"][0]["value"] == "cs.LG"


def test_paper_and_similar_endpoints(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    r = client.get("/api/paper/arxiv:1706.03762")
    assert r.status_code == 200
    assert_matches_schema(r.json(), response_schema(spec, "/api/paper/{paper_id}"), spec)
    assert r.json()["code_urls"] == ["https://github.com/tensorflow/tensor2tensor"]
    r = client.get("/api/similar", params=[("id", "1706.03762"), ("id", "2002.05709"), ("k", "2")])
    assert r.status_code == 200 and len(r.json()["hits"]) == 2
    assert_matches_schema(r.json(), response_schema(spec, "/api/similar"), spec)
    r = client.post("/api/similar", json={"text": "drought and maize photosynthesis", "k": 1})
    assert r.json()["hits"][0]["paper"]["id"] == "doi:10.1000/plants.2021.1"


def test_errors_are_json_4xx(client: TestClient) -> None:
    assert client.get("/api/paper/arxiv:0000.00000").status_code == 404
    assert client.get("/api/paper/arxiv:0000.00000").json() == {
        "error": "no paper 'arxiv:0000.00000'"
    }
    assert client.get("/api/search", params={"q": "x year:soon"}).status_code == 400
    assert client.get("/api/search", params={"q": "x", "mode": "magic"}).status_code == 422
    assert client.get("/api/search", params={"q": "x" * 2000}).status_code == 422
    assert client.post("/api/similar", json={}).status_code == 400


def test_public_search_is_rate_limited(small_catalog: Catalog) -> None:
    small_catalog.settings.search_rate_per_minute = 3
    with TestClient(create_app(catalog=small_catalog)) as c:
        codes = [c.get("/api/search", params={"q": "attention"}).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_every_api_route_is_in_openapi(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/search", "/api/paper/{paper_id}", "/api/similar", "/api/stats"} <= set(paths)
    assert "post" in paths["/api/similar"]


def test_a_browser_gets_the_site_error_page_and_api_clients_json(client: TestClient) -> None:
    page = client.get("/no/such/page", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "No such page." in page.text and 'href="/"' in page.text
    api = client.get("/api/no/such/thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    plain = client.get("/no/such/page")  # curl, feed readers: no text/html in Accept
    assert plain.status_code == 404 and plain.json() == {"detail": "Not Found"}


def test_search_at_slash_search_goes_to_the_search_page(client: TestClient) -> None:
    r = client.get("/search?q=warmup&mode=keyword", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/?q=warmup&mode=keyword"
    page = client.get("/search?q=warmup")
    assert page.status_code == 200 and "Attention Is All You Need" in page.text


def test_a_pasted_abstract_is_searched_in_part_on_the_page_and_refused_by_the_api(
    client: TestClient,
) -> None:
    pasted = "transformer attention " * 60  # 1,320 characters
    page = client.get("/", params={"q": pasted, "mode": "keyword"})
    assert page.status_code == 200 and "Attention Is All You Need" in page.text
    assert "first 1,000 characters" in page.text and "Search by example" in page.text
    assert client.get("/api/search", params={"q": pasted}).status_code == 422


def test_each_paper_has_a_bibtex_entry_beside_its_page(client: TestClient) -> None:
    page = client.get("/paper/1706.03762").text
    assert 'href="/paper/arxiv:1706.03762.bib"' in page
    assert client.get("/paper/arxiv:1706.03762.bib").status_code == 200
    r = client.get("/paper/1706.03762.bib")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-bibtex")
    assert r.text.startswith("@") and "Attention Is All You Need" in r.text
    assert "1706.03762" in r.text and "Vaswani" in r.text
    assert client.get("/paper/9999.99999.bib").status_code == 404
