"""The web UI in a real headless browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import live_server

from papersift.service.catalog import Catalog

playwright_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def server(demo_catalog: Catalog) -> Iterator[str]:
    with live_server(demo_catalog) as url:
        yield url


def test_search_page_finds_warmup_papers_and_opens_a_paper(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server + "/")
    page.fill("input[name=q]", "learning rate warmup")
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    titles = page.locator("li.hit .title a:not(.code)").all_inner_texts()
    assert len(titles) == 20
    assert sum("warmup" in t.lower() or "learning rate" in t.lower() for t in titles[:5]) >= 2
    assert page.locator("li.hit mark").count() > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=False)
    page.click("li.hit .title a:not(.code) >> nth=0")
    page.wait_for_selector("article.paper h1")
    assert page.locator("section.similar li.hit").count() == 8
    page.close()


def test_mode_switch_filters_and_paging(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server + "/?q=contrastive+loss+for+metric+learning")
    page.check("input[value=keyword]")
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    assert "keyword" in page.locator("p.summary").inner_text()
    assert "mode=keyword" in page.url
    first = page.locator("li.hit .title a:not(.code)").first.inner_text()
    assert "contrastive" in first.lower() or "metric" in first.lower()
    page.click("a[rel=next]")
    page.wait_for_selector("li.hit")
    assert "page 2" in page.locator("nav.pager").inner_text()
    page.close()


def test_search_by_example_and_escaping(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server + "/similar")
    page.fill("textarea[name=text]", "<script>alert(1)</script> We pull embeddings of similar "
              "images together with a triplet loss and push dissimilar ones apart.")  # fmt: skip
    page.click("button[type=submit]")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit").count() == 20
    assert page.locator("textarea").input_value().startswith("<script>")
    page.goto(server + "/?q=%3Cimg+src%3Dx+onerror%3Dalert(2)%3E")
    assert dialogs == []
    page.close()
