"""The community web pages over plain HTTP: CSRF, redirects after sign-in, escaping, privacy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import SMALL
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from papersift.service import community, library
from papersift.service.accounts import Principal, session_user
from papersift.service.catalog import Catalog
from papersift.store.schema import Paper
from papersift.web.app import create_app
from papersift.web.auth import CSRF_COOKIE, SESSION_COOKIE
from papersift.web.pages_account import safe_next

PASSWORD = "correct horse battery"


@pytest.fixture
def app(small_catalog: Catalog) -> FastAPI:
    return create_app(catalog=small_catalog)


@pytest.fixture
def alice(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        sign_up(client, "alice")
        yield client


@pytest.fixture
def bob(app: FastAPI, alice: TestClient) -> Iterator[TestClient]:
    with TestClient(app) as client:
        sign_up(client, "bob")
        yield client


def csrf(client: TestClient) -> str:
    if not client.cookies.get(CSRF_COOKIE):
        client.get("/login")
    token = client.cookies.get(CSRF_COOKIE)
    assert token
    return token


def sign_up(client: TestClient, name: str) -> None:
    form = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    r = client.post("/signup", data={**form, "csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert client.cookies.get(SESSION_COOKIE)


def post(client: TestClient, path: str, **data: str) -> int:
    r = client.post(path, data={**data, "csrf_token": csrf(client)}, follow_redirects=False)
    return r.status_code


def me(cat: Catalog, client: TestClient) -> Principal:
    who = session_user(cat, client.cookies.get(SESSION_COOKIE))
    assert who is not None
    return who


def test_form_post_without_csrf_token_is_rejected_and_changes_nothing(
    small_catalog: Catalog, alice: TestClient
) -> None:
    who = me(small_catalog, alice)
    for data in ({"up": "1"}, {"up": "1", "csrf_token": "forged"}):
        r = alice.post("/paper/1706.03762/vote", data=data, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text
    r = alice.post("/paper/1706.03762/note", data={"note": "mine"}, follow_redirects=False)
    assert r.status_code == 403
    assert community.paper_card(small_catalog, "1706.03762", viewer=who).votes == 0
    assert library.item(small_catalog, who, "1706.03762").note is None
    # the header works as well as the form field (static/community.js sends it)
    r = alice.post(
        "/paper/1706.03762/vote",
        data={"up": "1"},
        headers={"X-CSRF-Token": csrf(alice), "Accept": "application/json"},
    )
    assert r.json() == {"paper_id": "arxiv:1706.03762", "votes": 1, "voted": True}
    # sign-in forms are protected too (login CSRF would sign a victim into the attacker's account)
    r = alice.post("/login", data={"login": "alice", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_login_next_never_leaves_the_site(app: FastAPI, target: str) -> None:
    with TestClient(app) as client:
        sign_up(client, "carol")
        page = client.get("/login", params={"next": target})
        assert 'name="next" value="/"' in page.text
        r = client.post(
            "/login",
            data={
                "login": "carol",
                "password": PASSWORD,
                "next": target,
                "csrf_token": csrf(client),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_login_next_returns_to_a_local_page(app: FastAPI) -> None:
    assert safe_next("/daily?week=2026-W48") == "/daily?week=2026-W48"
    assert safe_next("/\t/evil.example") == "/"
    with TestClient(app) as client:
        sign_up(client, "dave")
        client.post("/logout", data={"csrf_token": csrf(client)})
        assert client.get("/library", follow_redirects=False).headers["location"] == (
            "/login?next=/library"
        )
        r = client.post(
            "/login",
            data={
                "login": "dave",
                "password": PASSWORD,
                "next": "/library",
                "csrf_token": csrf(client),
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/library"
        bad = client.post("/login", data={"login": "dave", "password": "wrong password",
                                          "csrf_token": csrf(client)})  # fmt: skip
        assert bad.status_code == 400 and "wrong username/email or password" in bad.text


def test_markup_in_comments_tag_names_and_notes_is_escaped(alice: TestClient) -> None:
    body = "**bold** <script>alert(1)</script> [x](javascript:alert(2))"
    assert post(alice, "/paper/1706.03762/comments", body=body) == 303
    assert post(alice, "/paper/1706.03762/tag", tag="<img src=x onerror=alert(3)>") == 303
    assert post(alice, "/paper/1706.03762/note", note="<script>alert(4)</script>") == 303
    page = alice.get("/paper/1706.03762").text
    assert "<strong>bold</strong>" in page  # markdown is rendered...
    assert "<script>alert" not in page and 'href="javascript' not in page  # ...but nothing runs
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page
    tag_page = alice.get("/library/tags/img-src-x-onerror-alert-3").text
    assert "&lt;img src=x onerror=alert(3)&gt;" in tag_page and "<img src=x" not in tag_page
    assert "<img src=x" not in alice.get("/library").text


def test_another_user_cannot_see_or_change_a_private_tag_or_note(
    small_catalog: Catalog, alice: TestClient, bob: TestClient
) -> None:
    assert post(alice, "/paper/1706.03762/tag", tag="Reading group") == 303
    assert post(alice, "/paper/1706.03762/note", note="alice's secret plan") == 303
    assert bob.get("/u/alice/tags/reading-group").status_code == 404
    assert bob.get("/library/tags/reading-group").status_code == 404
    assert "alice&#39;s secret plan" not in bob.get("/paper/1706.03762").text
    assert "alice&#39;s secret plan" in alice.get("/paper/1706.03762").text
    for path in ("visibility", "rename", "delete", "remove"):
        data = {"public": "1", "name": "pwned", "paper_id": "1706.03762"}
        assert post(bob, f"/library/tags/reading-group/{path}", **data) == 404
    owner = me(small_catalog, alice)
    (tag,) = library.tags(small_catalog, owner)
    assert (tag.name, tag.is_public, tag.papers) == ("Reading group", False, 1)
    # published, the tag shows its papers to bob but never alice's note
    assert post(alice, "/library/tags/reading-group/visibility", public="1") == 303
    public = bob.get("/u/alice/tags/reading-group")
    assert public.status_code == 200 and "Attention Is All You Need" in public.text
    assert "secret plan" not in public.text
    assert 'href="/u/alice/tags/reading-group.atom"' in public.text
    assert 'href="/u/alice/tags/reading-group.bib"' in public.text


def test_votes_saves_and_daily_submissions_show_on_the_lists(
    small_catalog: Catalog, alice: TestClient, bob: TestClient
) -> None:
    for pid in ("1706.03762", "2002.05709"):
        assert post(alice, "/daily/submit", paper_id=pid) == 303
    assert post(bob, "/paper/2002.05709/vote", up="1", next="/daily") == 303
    daily = bob.get("/daily").text
    titles = re.findall(r'<div class="title"><a href="/paper/[^"]+">([^<]+)</a>', daily)
    assert titles[0].startswith("A Simple Framework") and titles[1] == "Attention Is All You Need"
    assert 'submitted by <span class="submitter">alice</span>' in daily
    assert 'aria-pressed="true"' in daily  # bob sees his own vote
    for who in (alice, bob):
        assert post(who, "/paper/1706.03762/vote", up="1") == 303
    assert post(bob, "/paper/2002.05709/vote", up="0") == 303
    trending = alice.get("/trending", params={"window": "day"}).text
    titles = re.findall(r'<div class="title"><a href="/paper/[^"]+">([^<]+)</a>', trending)
    assert titles[0] == "Attention Is All You Need"
    assert "2 votes = 2 points" in trending and "gravity 1.5" in trending
    assert 'href="/feeds/trending.atom?window=day"' in trending


def test_search_can_be_sorted_by_trending_and_shows_votes(alice: TestClient) -> None:
    params = {"q": "learning rate warmup", "mode": "keyword"}
    titles = re.compile(r'<div class="title"><a href="/paper/[^"]+">([^<]+)</a>')
    by_relevance = titles.findall(alice.get("/", params=params).text)
    assert len(by_relevance) >= 2
    last = by_relevance[-1]
    (pid,) = [p.arxiv_id or p.doi for p in SMALL if p.title == last]
    assert post(alice, f"/paper/{pid}/vote", up="1") == 303
    page = alice.get("/", params={**params, "sort": "trending"}).text
    assert titles.findall(page)[0] == last
    assert '<span class="count">1</span>' in page
    assert 'href="/feeds/search.atom?q=learning%20rate%20warmup"' in page


def test_following_a_search_keeps_its_filters(small_catalog: Catalog, alice: TestClient) -> None:
    data = {"q": "warmup", "author": "Liu", "year_from": "2019", "has_code": "1"}
    assert post(alice, "/searches", **data) == 303
    (saved,) = library.searches(small_catalog, me(small_catalog, alice))
    assert saved.query == 'warmup author:"Liu" year:>=2019 has:code'
    assert "warmup author:&#34;Liu&#34;" in alice.get("/library").text
    assert post(alice, f"/searches/{saved.slug}/delete") == 303
    assert library.searches(small_catalog, me(small_catalog, alice)) == []


def test_daily_pages_step_by_day_week_and_month(alice: TestClient) -> None:
    day = alice.get("/daily/2026-01-01").text
    assert 'href="/daily/2025-12-31"' in day and 'href="/daily/2026-01-02"' in day
    assert 'href="/daily?week=2026-W01"' in day and 'href="/daily?month=2026-01"' in day
    week = alice.get("/daily", params={"week": "2026-W48"}).text
    assert 'href="/daily?week=2026-W47"' in week and 'href="/daily?week=2026-W49"' in week
    month = alice.get("/daily", params={"month": "2026-01"}).text
    assert 'href="/daily?month=2025-12"' in month and 'href="/daily?month=2026-02"' in month
    assert alice.get("/daily", params={"week": "soon"}).status_code == 400
    assert alice.get("/daily/yesterday").status_code == 400


def test_api_token_is_shown_once_and_can_be_revoked(alice: TestClient) -> None:
    r = alice.post("/settings/tokens", data={"name": "laptop", "csrf_token": csrf(alice)})
    token = re.search(r'value="(ps_[^"]+)"', r.text)
    assert r.status_code == 200 and token
    assert r.headers["cache-control"] == "no-store"
    settings = alice.get("/settings").text
    assert token.group(1) not in settings and "laptop" in settings
    api = TestClient(alice.app, headers={"Authorization": f"Bearer {token.group(1)}"})
    assert "alice" in api.get("/daily").text
    token_id = re.search(r'action="/settings/tokens/(\d+)/revoke"', settings)
    assert token_id and post(alice, f"/settings/tokens/{token_id.group(1)}/revoke") == 303
    assert "revoked" in alice.get("/settings").text


def test_signed_out_visitors_are_asked_to_sign_in(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/recommendations", follow_redirects=False).status_code == 303
        assert post(client, "/paper/1706.03762/vote", up="1") == 401
        page = client.get("/paper/1706.03762").text
        assert "Sign in" in page and 'action="/paper/' not in page
        bad = client.post("/signup", data={"username": "x", "email": "nope", "password": "short",
                                           "csrf_token": csrf(client)})  # fmt: skip
        assert bad.status_code == 400 and "username" in bad.text


def test_quiet_today_shows_the_latest_list_and_trending_widens_its_window(
    small_catalog: Catalog, app: FastAPI
) -> None:
    """A catalogue whose lists and votes are all from last year (an import, the demo) still
    opens on papers: /daily shows the newest list, /trending the first window with any."""
    from datetime import timedelta

    from papersift.store import daily as daily_db

    old = community.today() - timedelta(days=400)
    with small_catalog.store.session() as s:
        num = s.scalar(select(Paper.num).where(Paper.arxiv_id == "2002.05709"))
        daily_db.add_entry(s, old, num, None, source="hf")
    with TestClient(app) as client:
        daily = client.get("/daily").text
        assert "Nothing is listed for today yet" in daily and old.strftime("%B %Y") in daily
        assert "A Simple Framework for Contrastive Learning" in daily
        today = client.get(f"/daily/{community.today().isoformat()}").text  # asked for: as is
        assert "Nothing is listed for today yet" not in today
        assert "Contrastive Learning" not in today
        trending = client.get("/trending").text
        assert "Nothing new in the past week: showing all time." in trending
        assert "A Simple Framework for Contrastive Learning" in trending
        week = client.get("/trending", params={"window": "week"}).text  # picked: kept
        assert "Contrastive Learning" not in week and "window=all" in week
