"""Subscribing, confirming, managing and unsubscribing, over HTTP with a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from mail_helpers import (
    SEND_AT,
    SEND_DAY,
    TODAY,
    SmtpSink,
    confirmed,
    populate_community,
)

from papersift.mail import tokens
from papersift.mail.sharding import send_digests
from papersift.mail.tokens import TokenError
from papersift.service import subscriptions as subs
from papersift.service.catalog import Catalog
from papersift.store import subscriptions as db
from papersift.web.app import create_app

pytest_plugins = ["mail_fixtures"]  # the SMTP sink and mail catalogue fixtures


@pytest.fixture
def client(mail_catalog: Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(catalog=mail_catalog)) as c:
        yield c


def _csrf(client: TestClient) -> str:
    page = client.get("/subscribe")
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m and client.cookies.get("ps_csrf") == m.group(1)
    return m.group(1)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _state(catalog: Catalog, email: str) -> str:
    with catalog.store.session() as s:
        sub = db.by_email(s, email)
        assert sub is not None
        return subs._state(sub)


def test_double_opt_in_from_the_web_form(
    client: TestClient, mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    assert client.post("/subscribe", data={"email": "new@example.org"}).status_code == 403
    form = {"email": "New@Example.ORG", "frequency": "weekly", "content": ["trending", "daily"],
            "csrf_token": _csrf(client)}  # fmt: skip
    page = client.post("/subscribe", data=form)
    assert page.status_code == 200 and "Check your inbox" in page.text
    [mail] = sink.to("new@example.org")
    assert mail.header("To") == "new@example.org"  # addresses are normalised to lower case
    assert "confirm" in mail.header("Subject") and "weekly" in mail.text
    # nothing is sent before confirmation
    assert send_digests(mail_catalog, SEND_DAY, now=SEND_AT).due == 0
    confirm = _path(mail.link("/subscribe/confirm"))
    # opening the link (or a mail scanner following it) changes nothing ...
    page = client.get(confirm)
    assert page.status_code == 200 and "Confirm subscription" in page.text
    assert _state(mail_catalog, "new@example.org") == "unconfirmed"
    # ... the button does
    page = client.post(confirm, data={"csrf_token": _csrf(client)})
    assert page.status_code == 200 and "You are subscribed" in page.text
    assert _state(mail_catalog, "new@example.org") == "active"
    assert client.post(confirm, data={"csrf_token": _csrf(client)}).status_code == 200  # again: ok
    sink.clear()
    assert send_digests(mail_catalog, SEND_DAY, now=SEND_AT).sent == 1
    [digest] = sink.to("new@example.org")
    assert digest.header("X-Papersift-Period").endswith(f"W{SEND_DAY.isocalendar()[1]:02d}")


def test_the_answer_never_reveals_whether_an_address_is_subscribed(
    client: TestClient, mail_catalog: Catalog, sink: SmtpSink
) -> None:
    earlier = datetime.now(UTC).replace(tzinfo=None) - subs.RESEND_INTERVAL
    confirmed(mail_catalog, "member@example.org", now=earlier)
    form = {"content": ["trending"], "csrf_token": _csrf(client)}
    known = client.post("/subscribe", data={"email": "member@example.org", **form})
    unknown = client.post("/subscribe", data={"email": "other@example.org", **form})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("member", "X") == unknown.text.replace("other", "X")
    api_known = client.post("/api/subscriptions", json={"email": "member@example.org"})
    api_unknown = client.post("/api/subscriptions", json={"email": "third@example.org"})
    assert api_known.status_code == api_unknown.status_code == 202
    assert api_known.json() == api_unknown.json()
    # the member's own inbox learns it, with a preferences link; their choices are unchanged
    [note] = sink.to("member@example.org")
    assert (
        "already subscribed" in note.header("Subject") and "/subscribe/manage?token=" in note.text
    )
    assert len(sink.to("other@example.org")) == len(sink.to("third@example.org")) == 1
    # asking again within ten minutes sends nothing more (no inbox flooding)
    client.post("/subscribe", data={"email": "other@example.org", **form})
    client.post("/api/subscriptions", json={"email": "member@example.org"})
    assert len(sink.to("other@example.org")) == len(sink.to("member@example.org")) == 1


def test_one_click_unsubscribe_over_http_post_without_cookie_or_login(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "reader@example.org")
    send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    [digest] = sink.to("reader@example.org")
    target = _path(digest.header("List-Unsubscribe").strip("<>"))
    with TestClient(create_app(catalog=mail_catalog)) as provider:  # a mail provider: no cookies
        page = provider.get(target)
        assert page.status_code == 200 and "Unsubscribe" in page.text
        assert _state(mail_catalog, "reader@example.org") == "active"  # GET changes nothing
        provider.cookies.clear()
        r = provider.post(
            target,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200 and "You are unsubscribed" in r.text
        assert _state(mail_catalog, "reader@example.org") == "unsubscribed"
        # repeating it is harmless; a tampered token is not accepted
        assert provider.post(target).status_code == 200
        assert provider.post(target[:-3] + "abc").status_code == 400
    # immediately effective: the next period sends nothing
    sink.clear()
    report = send_digests(mail_catalog, SEND_DAY + timedelta(days=1), now=SEND_AT)
    assert report.due == 0 and sink.messages == []


def test_resubscribing_voids_the_links_of_earlier_mails(mail_catalog: Catalog) -> None:
    confirmed(mail_catalog, "reader@example.org")
    signer = subs.composer(mail_catalog).signer
    old_unsub = signer.make("unsubscribe", 1, 0)
    old_manage = signer.make("manage", 1, 0)
    subs.unsubscribe(mail_catalog, old_unsub)
    later = datetime.now(UTC).replace(tzinfo=None) + subs.RESEND_INTERVAL  # past the rate limit
    confirmed(mail_catalog, "reader@example.org", now=later)
    assert _state(mail_catalog, "reader@example.org") == "active"
    with pytest.raises(TokenError):
        subs.unsubscribe(mail_catalog, old_unsub)  # an old mail cannot end the new subscription
    with pytest.raises(TokenError):
        subs.preferences(mail_catalog, old_manage)
    assert subs.unsubscribe(mail_catalog, signer.make("unsubscribe", 1, 1)).state == "unsubscribed"


def test_tokens_are_bound_to_their_purpose_and_confirmation_expires(
    mail_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs.subscribe(mail_catalog, "reader@example.org")
    signer = subs.composer(mail_catalog).signer
    confirm = signer.make("confirm", 1, 0, "reader@example.org")
    with pytest.raises(TokenError):
        subs.unsubscribe(mail_catalog, confirm)  # another salt
    with pytest.raises(TokenError):
        subs.confirm(mail_catalog, signer.make("manage", 1, 0))
    with pytest.raises(TokenError):
        subs.confirm(mail_catalog, signer.make("confirm", 1, 0, "someone@else.org"))
    forged = tokens.Signer("another server's key").make("confirm", 1, 0, "reader@example.org")
    with pytest.raises(TokenError):
        subs.confirm(mail_catalog, forged)
    monkeypatch.setattr(tokens, "CONFIRM_MAX_AGE", -1)
    with pytest.raises(TokenError, match="expired"):
        subs.confirm(mail_catalog, confirm)
    monkeypatch.setattr(tokens, "CONFIRM_MAX_AGE", 48 * 3600)
    assert subs.confirm(mail_catalog, confirm).state == "active"


def test_preferences_page_and_api(
    client: TestClient, mail_catalog: Catalog, sink: SmtpSink
) -> None:
    confirmed(mail_catalog, "reader@example.org")
    manage = subs.composer(mail_catalog).signer.make("manage", 1, 0)
    page = client.get("/subscribe/manage", params={"token": manage})
    assert page.status_code == 200 and 'value="daily" checked' in page.text
    form = {"frequency": "weekly", "content": ["daily"], "csrf_token": _csrf(client)}
    assert client.post("/subscribe/manage", params={"token": manage}, data=form).status_code == 200
    got = client.get("/api/subscriptions/preferences", params={"token": manage}).json()
    assert (got["frequency"], got["content"], got["state"]) == ("weekly", ["daily"], "active")
    r = client.put(
        "/api/subscriptions/preferences",
        json={"token": manage, "content": ["trending", "searches"]},
    )
    assert r.status_code == 200 and r.json()["content"] == ["trending", "searches"]
    assert r.json()["frequency"] == "weekly"
    bad = client.put("/api/subscriptions/preferences", json={"token": manage, "content": ["x"]})
    assert bad.status_code == 422
    assert client.get("/api/subscriptions/preferences", params={"token": "nope"}).status_code == 400


def test_api_confirm_and_unsubscribe_and_openapi(
    client: TestClient, mail_catalog: Catalog, sink: SmtpSink
) -> None:
    r = client.post("/api/subscriptions", json={"email": "api@example.org", "frequency": "weekly"})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    [mail] = sink.to("api@example.org")
    token = mail.link("/subscribe/confirm").split("token=")[1]
    r = client.post("/api/subscriptions/confirm", json={"token": token})
    assert r.status_code == 200 and r.json()["state"] == "active"
    assert r.json()["frequency"] == "weekly"
    unsub = subs.composer(mail_catalog).signer.make("unsubscribe", 1, 0)
    r = client.post("/api/subscriptions/unsubscribe", json={"token": unsub})
    assert r.status_code == 200 and r.json()["state"] == "unsubscribed"
    forged = client.post("/api/subscriptions/confirm", json={"token": "x.y.z"})
    assert forged.status_code == 400 and "error" in forged.json()
    for page in ("/subscribe/confirm", "/unsubscribe", "/subscribe/manage"):
        shown = client.get(page, params={"token": "x.y.z"})
        assert shown.status_code == 400 and "text/html" in shown.headers["content-type"]
    assert client.post("/api/subscriptions", json={"email": "not an address"}).status_code == 400
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/subscriptions", "/api/subscriptions/confirm",
                 "/api/subscriptions/unsubscribe", "/api/subscriptions/preferences"):  # fmt: skip
        assert path in spec["paths"]
    assert "/unsubscribe" not in spec["paths"]  # pages stay out of the API document


def test_signed_in_subscriber_gets_the_form_prefilled_and_the_account_linked(
    client: TestClient, mail_catalog: Catalog, sink: SmtpSink
) -> None:
    from papersift.service import accounts

    who = accounts.sign_up(mail_catalog, "carol", "carol@example.org", "long password 3")
    token = accounts.create_token(mail_catalog, who).token
    headers = {"Authorization": f"Bearer {token}"}
    page = client.get("/subscribe", headers=headers)
    assert 'value="carol@example.org"' in page.text
    r = client.post(
        "/api/subscriptions",
        json={"email": "carol.work@example.org", "content": ["searches"]},
        headers=headers,
    )
    assert r.status_code == 202
    [mail] = sink.to("carol.work@example.org")
    confirmed_out = subs.confirm(mail_catalog, mail.link("/subscribe/confirm").split("token=")[1])
    assert confirmed_out.account == "carol" and confirmed_out.content == ["searches"]
