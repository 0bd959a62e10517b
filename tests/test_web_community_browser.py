"""The community pages in a real headless browser (Debian chromium, as in test_web_browser.py):
two users sign up, vote, save, tag, publish a tag and get recommendations on the demo corpus.

Alice's browser runs static/community.js (vote and save buttons update in place); Bob's has
JavaScript turned off, so every form he sends takes the plain POST-and-redirect path.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import test_web_browser as web  # its ARTIFACTS folder
from conftest import live_server

from papersift.config import Settings
from papersift.demo import load_demo
from papersift.service.catalog import Catalog

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Locator, Page

TAG = "Metric learning reading"
SLUG = "metric-learning-reading"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh demo catalogue (not the session's shared one: these tests add users and votes)."""
    cat = Catalog(Settings(data_dir=tmp_path_factory.mktemp("community"), search_rate_per_minute=0))
    load_demo(cat)
    with live_server(cat) as url:
        yield url
    cat.close()


def sign_up(page: Page, server: str, name: str) -> None:
    page.goto(server + "/signup")
    page.fill("input[name=username]", name)
    page.fill("input[name=email]", f"{name}@example.org")
    page.fill("input[name=password]", "correct horse battery")
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector("header .account .username")
    assert page.locator("header .account .username").inner_text() == name


def card(page: Page, paper_id: str) -> Locator:
    return page.locator(f'li.card[data-paper-id="{paper_id}"]')


def feed_and_bibtex_answer(page: Page, server: str, links: list[str]) -> None:
    if importlib.util.find_spec("papersift.web.feeds") is None:
        return  # the feed routes are not there yet; the links are checked by the caller
    for href in links:
        response = page.request.get(server + href)
        assert response.status == 200, href
        assert response.text().lstrip().startswith(("<?xml", "<feed", "@")), href


def test_two_users_vote_save_tag_and_get_recommendations(server: str, browser: Browser) -> None:
    alice_ctx = browser.new_context()
    bob_ctx = browser.new_context(java_script_enabled=False)
    alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:  # an alert() would mean some markup ran as script
        dialogs.append(dialog.message)
        dialog.dismiss()

    for p in (alice, bob):
        p.on("dialog", on_dialog)
    sign_up(alice, server, "alice")
    sign_up(bob, server, "bob")

    # Alice saves six metric-learning papers from a search (buttons update in place, by fetch)
    alice.goto(server + '/?q="metric learning"&mode=keyword')
    hits = alice.locator("li.hit")
    hits.first.wait_for()
    saved = [hits.nth(i).get_attribute("data-paper-id") or "" for i in range(6)]
    for pid in saved:
        alice.click(f'li.hit[data-paper-id="{pid}"] button.save')
        alice.wait_for_selector(f'li.hit[data-paper-id="{pid}"] button.save[aria-pressed="true"]')
    assert alice.url.startswith(server + "/?q=")  # no navigation happened
    first, second = saved[0], saved[1]

    # she puts two of them on today's list and upvotes the second: it leads the daily list
    alice.goto(server + "/daily")
    for pid in (first, second):
        alice.fill("form.submit-paper input[name=paper_id]", pid)
        with alice.expect_navigation():
            alice.click("form.submit-paper button[type=submit]")
        assert "Added to today's list" in alice.locator("p.notice").inner_text()
    card(alice, second).locator("button.vote").click()
    alice.wait_for_selector(f'li.card[data-paper-id="{second}"] button.vote[aria-pressed="true"]')
    assert card(alice, second).locator("button.vote .count").inner_text() == "1"
    alice.reload()
    ids = [c.get_attribute("data-paper-id") for c in alice.locator("li.card").all()]
    assert ids[:2] == [second, first]
    assert "submitted by alice" in card(alice, first).inner_text()

    alice.goto(server + "/trending?window=day")
    assert alice.locator("li.card").first.get_attribute("data-paper-id") == second
    why = card(alice, second).locator("details.why-trends")
    why.locator("summary").click()
    assert "1 vote + 0.5 x 1 save = 1.5 points" in why.inner_text()
    assert "gravity 1.5" in alice.locator("details.formula").inner_text()

    # Bob (no JavaScript: plain forms) votes for the first paper, and Alice moves her vote to it
    bob.goto(server + "/trending?window=day")
    with bob.expect_navigation():
        card(bob, first).locator("button.vote").click()
    assert card(bob, first).locator("button.vote .count").inner_text() == "1"
    assert bob.url.endswith("/trending?window=day")  # redirected back where he was
    alice.goto(server + "/paper/" + first)
    alice.click("div.paper-head button.vote")
    alice.wait_for_selector('div.paper-head button.vote[aria-pressed="true"]')
    alice.goto(server + "/trending?window=day")
    card(alice, second).locator("button.vote").click()
    alice.wait_for_selector(f'li.card[data-paper-id="{second}"] button.vote[aria-pressed="false"]')
    alice.reload()
    assert [c.get_attribute("data-paper-id") for c in alice.locator("li.card").all()][:2] == [
        first,
        second,
    ]
    assert card(alice, first).locator("button.vote .count").inner_text() == "2"
    assert alice.locator("link[rel=alternate][type='application/atom+xml']").count() == 1
    web.ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(web.ARTIFACTS / "trending.png"), full_page=True)

    # Alice tags the first paper and keeps a private note on it
    alice.goto(server + "/paper/" + first)
    alice.fill("form.add-tag input[name=tag]", TAG)
    with alice.expect_navigation():
        alice.click("form.add-tag button[type=submit]")
    alice.wait_for_selector(f'p.tags a.tag[href="/library/tags/{SLUG}"]')
    alice.fill("form.note textarea", "my secret note: check eq. 3")
    with alice.expect_navigation():
        alice.click("form.note button[type=submit]")
    assert alice.locator("form.note textarea").input_value() == "my secret note: check eq. 3"
    alice.fill("form.new-comment textarea", "The *ground metric* idea is neat.")
    with alice.expect_navigation():
        alice.click("form.new-comment button[type=submit]")
    assert alice.locator("li.comment .comment-body em").inner_text() == "ground metric"

    # Bob can neither see nor change the private tag, nor read the note
    response = bob.goto(f"{server}/u/alice/tags/{SLUG}")
    assert response is not None and response.status == 404
    response = bob.goto(f"{server}/library/tags/{SLUG}")
    assert response is not None and response.status == 404
    bob.goto(server + "/paper/" + first)
    assert "secret note" not in bob.content()
    token = bob.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    for action in ("visibility", "delete"):
        forged = bob.request.post(
            f"{server}/library/tags/{SLUG}/{action}", form={"csrf_token": token, "public": "1"}
        )
        assert forged.status == 404
    forged = bob.request.post(f"{server}/paper/{first}/note", form={"note": "x"})
    assert forged.status == 403  # no CSRF token: refused before anything happens
    bob.click("li.comment details summary:has-text('reply')")  # <details>: no script needed
    bob.fill("li.comment details textarea[name=body]", "Agreed, see also **section 4**.")
    with bob.expect_navigation():
        bob.click("li.comment details button:has-text('Reply')")
    reply = bob.locator("ol.thread ol.thread li.comment")
    assert "section 4" in reply.locator("strong").inner_text()
    assert reply.locator("form[action$='/delete']").count() == 1  # his own: he may delete it

    # Alice publishes the tag; its public page, feed and BibTeX links appear
    alice.goto(f"{server}/library/tags/{SLUG}")
    assert "private" in alice.locator("h1").inner_text()
    assert alice.locator("li.card").count() == 1
    alice.click("div.tag-admin button:has-text('Make public')")
    alice.wait_for_selector("a.public-link")
    alice.click("a.public-link")
    alice.wait_for_selector("li.card")
    assert alice.url == f"{server}/u/alice/tags/{SLUG}"
    feed = alice.locator("link[rel=alternate][type='application/atom+xml']").get_attribute("href")
    assert feed == f"/u/alice/tags/{SLUG}.atom"
    assert alice.locator("a.feed").get_attribute("href") == feed
    bib = alice.locator("a.bib").get_attribute("href")
    assert bib == f"/u/alice/tags/{SLUG}.bib"
    feed_and_bibtex_answer(alice, server, [feed, bib, "/library.bib"])
    response = bob.goto(f"{server}/u/alice/tags/{SLUG}")
    assert response is not None and response.status == 200
    assert bob.locator("li.card").count() == 1 and "secret note" not in bob.content()
    alice.goto(server + "/paper/" + first)
    assert alice.locator("button:has-text('remove (admin)')").count() == 2  # the first user
    alice.screenshot(path=str(web.ARTIFACTS / "paper.png"), full_page=True)
    alice.goto(server + "/library")
    alice.screenshot(path=str(web.ARTIFACTS / "library.png"), full_page=True)

    # Recommendations learn from the six saved papers
    alice.goto(server + "/recommendations")
    recs = alice.locator("li.card")
    recs.first.wait_for()
    assert recs.count() == 20
    rec_ids = {c.get_attribute("data-paper-id") for c in recs.all()}
    assert not rec_ids & set(saved)
    text = alice.locator("ol.cards").inner_text().lower()
    assert text.count("because you saved") == 20
    assert text.count("metric") + text.count("embedding") >= 5
    because = alice.locator("div.because a").first.get_attribute("href") or ""
    assert re.sub(r"^/paper/", "", because).replace("%3A", ":") in saved
    alice.screenshot(path=str(web.ARTIFACTS / "recommendations.png"), full_page=False)
    alice.goto(server + "/daily")
    alice.screenshot(path=str(web.ARTIFACTS / "daily.png"), full_page=False)

    assert dialogs == []
    alice_ctx.close()
    bob_ctx.close()
