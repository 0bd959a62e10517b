"""The community API over HTTP: tokens, votes, daily lists, trending, libraries, feeds, BibTeX,
and the rule that one user can never read or change another's private data."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from pybtex.database import parse_string

from papersift.service.catalog import Catalog
from papersift.web.app import create_app


@pytest.fixture
def client(small_catalog: Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=small_catalog)) as c:
        yield c


def token_for(client: TestClient, name: str) -> dict[str, str]:
    r = client.post(
        "/api/auth/signup",
        json={"username": name, "email": f"{name}@example.org", "password": "a long password"},
    )
    assert r.status_code == 201, r.text
    r = client.post("/api/auth/token", json={"login": name, "password": "a long password"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_mutations_need_a_token_and_a_bad_token_is_rejected(client: TestClient) -> None:
    assert client.post("/api/paper/1706.03762/vote").status_code == 401
    bad = {"Authorization": "Bearer ps_not-a-token"}
    assert client.post("/api/paper/1706.03762/vote", headers=bad).status_code == 401
    r = client.post("/api/auth/token", json={"login": "nobody", "password": "whatever pw"})
    assert r.status_code == 400 and "wrong" in r.json()["error"]


def test_cookie_sessions_need_the_csrf_token_for_api_writes(
    client: TestClient, small_catalog: Catalog
) -> None:
    from papersift.service import accounts

    who = accounts.sign_up(small_catalog, "carol", "carol@example.org", "a long password")
    client.cookies.set("ps_session", accounts.start_session(small_catalog, who))
    client.get("/")  # receives the CSRF cookie
    csrf = client.cookies.get("ps_csrf")
    assert csrf
    assert client.post("/api/paper/1706.03762/vote").status_code == 403
    assert client.get("/api/paper/1706.03762/card").json()["votes"] == 0
    r = client.post("/api/paper/1706.03762/vote", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["votes"] == 1


def test_votes_daily_and_trending(client: TestClient) -> None:
    alice, bob = token_for(client, "alice"), token_for(client, "bob")
    for pid in ("1706.03762", "2002.05709"):
        r = client.post("/api/daily", json={"paper_id": pid}, headers=alice)
        assert r.status_code == 200 and r.json()["added"] is True
    again = client.post("/api/daily", json={"paper_id": "1706.03762"}, headers=bob)
    assert again.json()["added"] is False
    for h in (alice, bob):
        assert client.post("/api/paper/2002.05709/vote", headers=h).status_code == 200
    assert client.post("/api/paper/2002.05709/vote", headers=bob).json()["votes"] == 2
    assert client.delete("/api/paper/2002.05709/vote", headers=bob).json()["votes"] == 1

    daily = client.get("/api/daily").json()
    assert [c["paper"]["arxiv_id"] for c in daily["cards"]] == ["2002.05709", "1706.03762"]
    assert client.get("/api/daily", params={"date": "2026-13-01"}).status_code == 400
    assert client.get("/api/daily", params={"week": "2026-W60"}).status_code == 400
    trending = client.get("/api/trending", params={"window": "day"}, headers=bob).json()
    top = trending["cards"][0]
    assert top["paper"]["arxiv_id"] == "2002.05709" and top["voted"] is False
    assert "1 vote" in top["trending"]["formula"]
    ranked = client.get("/api/search", params={"q": "learning", "sort": "trending"}).json()
    assert ranked["sort"] == "trending" and ranked["hits"][0]["paper"]["arxiv_id"] == "2002.05709"


def test_a_second_user_cannot_touch_the_first_users_private_data(client: TestClient) -> None:
    alice, bob = token_for(client, "alice"), token_for(client, "bob")
    r = client.put("/api/library/1706.03762", json={"tags": ["Reading group"]}, headers=alice)
    assert r.status_code == 200 and r.json()["tags"] == ["reading-group"]
    client.put("/api/library/1706.03762/note", json={"note": "secret plan"}, headers=alice)
    # bob can neither see nor change alice's private tag, and sees none of her notes
    assert client.get("/api/users/alice/tags/reading-group", headers=bob).status_code == 404
    assert client.get("/u/alice/tags/reading-group.atom").status_code == 404
    assert client.get("/u/alice/tags/reading-group.bib", headers=bob).status_code == 404
    assert client.delete("/api/tags/reading-group", headers=bob).status_code == 404
    assert (
        client.delete("/api/tags/reading-group/papers/1706.03762", headers=bob).status_code == 404
    )
    assert client.get("/api/library", headers=bob).json()["total"] == 0
    assert client.get("/api/library", headers=alice).json()["items"][0]["note"] == "secret plan"
    # bob's vote and alice's vote are separate; bob cannot undo alice's
    client.post("/api/paper/1706.03762/vote", headers=alice)
    client.delete("/api/paper/1706.03762/vote", headers=bob)
    assert client.get("/api/paper/1706.03762/card", headers=alice).json()["voted"] is True
    # comments: only the author edits; bob is not admin (alice, the first user, is)
    c = client.post(
        "/api/paper/1706.03762/comments", json={"body": "*great*"}, headers=alice
    ).json()
    assert (
        client.patch(f"/api/comments/{c['id']}", json={"body": "x"}, headers=bob).status_code == 403
    )
    assert client.delete(f"/api/comments/{c['id']}?remove=true", headers=bob).status_code == 403
    # once public, everyone can read the tag, its feed and its BibTeX, but still not the note
    client.patch("/api/tags/reading-group", json={"public": True}, headers=alice)
    view = client.get("/api/users/alice/tags/reading-group").json()
    assert view["total"] == 1 and view["items"][0]["note"] is None
    feed = feedparser.parse(client.get("/u/alice/tags/reading-group.atom").content)
    assert feed.entries[0].title == "Attention Is All You Need"
    assert "/paper/arxiv:1706.03762" in feed.entries[0].link
    bib = parse_string(client.get("/u/alice/tags/reading-group.bib").text, "bibtex")
    ((key, entry),) = bib.entries.items()
    assert key == "vaswani2017attention"
    assert entry.fields["eprint"] == "1706.03762" and entry.fields["archivePrefix"] == "arXiv"
    assert str(entry.persons["author"][0]) == "Vaswani, Ashish"


def test_recommendations_and_feeds_over_http(client: TestClient) -> None:
    alice = token_for(client, "alice")
    for pid in ("1706.03762", "1908.03265"):
        client.put(f"/api/library/{pid}", headers=alice)
    recs = client.get("/api/recommendations", headers=alice).json()
    assert recs["seeds"] == 2
    ids = [r["card"]["paper"]["id"] for r in recs["items"]]
    assert "arxiv:1706.03762" not in ids and len(ids) == 3
    # photosynthesis is the least like transformers and warmup
    assert ids[-1] == "doi:10.1000/plants.2021.1"
    assert client.get("/api/recommendations").status_code == 401
    rss = feedparser.parse(client.get("/feeds/search.rss", params={"q": "warmup"}).content)
    assert rss.version.startswith("rss") and len(rss.entries) == 2
    atom = feedparser.parse(client.get("/feeds/trending.atom?window=all").content)
    assert atom.version == "atom10"
    assert client.get("/feeds/trending.json").status_code == 422


def test_community_endpoints_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/auth/signup", "/api/auth/token", "/api/paper/{paper_id}/vote", "/api/daily",
        "/api/trending", "/api/library", "/api/tags", "/api/tags/{slug}/papers",
        "/api/recommendations", "/api/searches", "/api/paper/{paper_id}/comments",
        "/feeds/trending.{fmt}", "/u/{username}/tags/{slug}.bib",
    ):  # fmt: skip
        assert path in paths, path
