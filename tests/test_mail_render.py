"""A digest as a mail client shows it: rendered by headless chromium into test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mail_helpers import (
    SEND_AT,
    SEND_DAY,
    TODAY,
    SmtpSink,
    confirmed,
    populate_community,
)

from papersift.mail.sharding import send_digests
from papersift.service import accounts, library
from papersift.service.catalog import Catalog

pytest_plugins = ["mail_fixtures"]  # the SMTP sink and mail catalogue fixtures

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def test_digest_renders_in_a_browser_with_its_links(
    mail_catalog: Catalog,
    sink: SmtpSink,
    browser: Any,  # the chromium fixture in conftest.py
) -> None:
    populate_community(mail_catalog, TODAY)
    ann = accounts.authenticate(mail_catalog, "ann", "long password 1")
    library.save_search(mail_catalog, ann, "Warmup", "learning rate warmup")
    library.save(mail_catalog, ann, "arxiv:1511.06452", ["metric"])
    confirmed(mail_catalog, "ann@example.org", content=list(("trending", "daily", "searches",
                                                             "recommendations")))  # fmt: skip
    send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    [mail] = sink.to("ann@example.org")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "digest.eml").write_bytes(mail.data)
    page = browser.new_page(viewport={"width": 720, "height": 900})
    page.set_content(mail.html)
    titles = page.locator("a[href^='http://papersift.test/paper/']").all_inner_texts()
    assert "Attention Is All You Need" in titles
    assert page.locator("a", has_text="Unsubscribe").get_attribute("href", timeout=2000) == (
        mail.header("List-Unsubscribe").strip("<>")
    )
    assert page.locator("a", has_text="code").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "digest.png"), full_page=True)
    assert (ARTIFACTS / "digest.png").stat().st_size > 10_000
