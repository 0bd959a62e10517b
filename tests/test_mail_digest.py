"""Digests composed and sent over real SMTP (aiosmtpd on loopback): content, headers, re-runs,
refused recipients and their retries, "nothing new", weekly periods, the CLI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from mail_helpers import (
    SEND_AT,
    SEND_DAY,
    TODAY,
    SmtpSink,
    confirmed,
    populate_community,
)

from papersift.mail import claims, delivery
from papersift.mail.claims import backoff
from papersift.mail.periods import parse_period, period_of
from papersift.mail.sharding import send_digests
from papersift.service import accounts, community, library
from papersift.service import subscriptions as subs
from papersift.service.catalog import Catalog
from papersift.store import deliveries
from papersift.store import subscriptions as db

pytest_plugins = ["mail_fixtures"]  # the SMTP sink and mail catalogue fixtures


def _deliveries(catalog: Catalog, period: str) -> dict[str, tuple[str, int, list[str]]]:
    from papersift.store.schema import DigestDelivery, Subscription

    with catalog.store.session() as s:
        rows = s.query(Subscription.email, DigestDelivery).join(
            DigestDelivery, DigestDelivery.subscription_id == Subscription.id
        )
        return {
            email: (d.status, d.attempts, list(d.paper_ids))
            for email, d in rows
            if d.period == period
        }


def test_periods_are_utc_days_and_iso_weeks() -> None:
    assert period_of(date(2026, 11, 23), "daily").key == "2026-11-23"
    week = period_of(date(2026, 11, 26), "weekly")
    assert week.key == "2026-W48" and week.start == date(2026, 11, 23)
    assert week.covers == (date(2026, 11, 16), date(2026, 11, 22))
    assert parse_period("2026-W48") == week
    assert parse_period("2026-11-23").covers == (date(2026, 11, 22), date(2026, 11, 22))
    with pytest.raises(ValueError):
        parse_period("someday")


def test_digest_has_linked_titles_excerpts_code_links_votes_and_unsubscribe_headers(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "reader@example.org")
    sink.clear()
    report = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    assert (report.sent, report.failed) == (1, 0)
    [m] = sink.to("reader@example.org")
    assert m.mail_from == "digest@papersift.test"
    # RFC 8058 one-click unsubscribe, pointing at our HTTPS-or-base-URL endpoint with a token
    assert m.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    unsub = m.header("List-Unsubscribe")
    assert unsub.startswith("<http://papersift.test/unsubscribe?token=") and unsub.endswith(">")
    assert unsub.strip("<>") in m.text and unsub.strip("<>") in m.html  # visible link too
    message_id = m.header("Message-ID")
    assert message_id.startswith(f"<digest.{SEND_DAY.isoformat()}.1.")
    assert message_id == subs.composer(mail_catalog).message_id(1, SEND_DAY.isoformat())
    # the three on today's list, and the paper published today (trending pads a quiet day)
    assert "4 new papers" in m.header("Subject")
    # titles linked to absolute paper pages, excerpt, code link, vote count
    assert 'href="http://papersift.test/paper/arxiv:1706.03762"' in m.html
    assert ">Attention Is All You Need</a>" in m.html
    assert 'href="https://github.com/tensorflow/tensor2tensor"' in m.html
    assert "2 votes" in m.text and "&#9650; 2" in m.html
    assert "We propose the Transformer" in m.text
    assert "/subscribe/manage?token=" in m.text
    # the log knows which papers went out
    status, attempts, ids = _deliveries(mail_catalog, SEND_DAY.isoformat())["reader@example.org"]
    assert (status, attempts) == ("sent", 1)
    assert set(ids) == {
        "arxiv:1706.03762", "arxiv:1908.03265", "arxiv:2002.05709", "arxiv:2611.00001"
    }  # fmt: skip


def test_html_escapes_titles_and_text_part_is_plain(mail_catalog: Catalog, sink: SmtpSink) -> None:
    from papersift.records import PaperRecord
    from papersift.service.ingesting import ingest

    ingest(
        mail_catalog,
        [PaperRecord(title="Attacks with <script>alert(1)</script> & friends", abstract="x < y",
                     arxiv_id="2611.09999", published=TODAY, source="t")],
        source="t", location="t",
    )  # fmt: skip
    populate_community(mail_catalog, TODAY)
    admin = accounts.authenticate(mail_catalog, "ann", "long password 1")
    community.submit(mail_catalog, admin, "arxiv:2611.09999", TODAY)
    confirmed(mail_catalog, "reader@example.org", content=["daily"])
    sink.clear()
    send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    [m] = sink.to("reader@example.org")
    assert (
        "<script>" not in m.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in m.html
    )
    assert "Attacks with <script>alert(1)</script> & friends" in m.text


def test_running_twice_sends_each_subscriber_one_digest_per_period(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    for i in range(5):
        confirmed(mail_catalog, f"r{i}@example.org")
    confirmed(mail_catalog, "weekly@example.org", frequency="weekly")
    sink.clear()
    first = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    again = send_digests(mail_catalog, SEND_DAY, now=SEND_AT + timedelta(hours=1))
    assert (first.sent, again.sent, again.due) == (6, 0, 0)
    for i in range(5):
        assert len(sink.to(f"r{i}@example.org")) == 1
    [weekly] = sink.to("weekly@example.org")
    assert weekly.header("X-Papersift-Period") == period_of(SEND_DAY, "weekly").key
    # a later day of the same ISO week: the daily subscribers are due again, the weekly one not
    week = period_of(SEND_DAY, "weekly")
    same_week = week.end if week.end != SEND_DAY else week.start
    later = send_digests(mail_catalog, same_week, now=SEND_AT, dry_run=True)
    assert later.due == 5 and later.periods == [same_week.isoformat(), week.key]


def test_unconfirmed_and_unsubscribed_addresses_get_nothing(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    subs.subscribe(mail_catalog, "pending@example.org")
    confirmed(mail_catalog, "gone@example.org")
    with mail_catalog.store.session() as s:
        sub = db.by_email(s, "gone@example.org")
        assert sub is not None
        token = subs.composer(mail_catalog).signer.make("unsubscribe", sub.id, sub.token_version)
    subs.unsubscribe(mail_catalog, token)
    sink.clear()
    report = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    assert report.due == 0 and sink.messages == []


def test_nothing_new_sends_nothing_and_only_new_papers_follow(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    ann = accounts.authenticate(mail_catalog, "ann", "long password 1")
    confirmed(mail_catalog, "reader@example.org")
    send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    sink.clear()
    # the next day's list holds only a paper the reader already got: nothing new, nothing sent
    day2 = SEND_DAY + timedelta(days=1)
    community.submit(mail_catalog, ann, "arxiv:1706.03762", SEND_DAY)
    report = send_digests(mail_catalog, day2, now=SEND_AT + timedelta(days=1))
    assert (report.sent, report.empty) == (0, 1) and sink.messages == []
    assert _deliveries(mail_catalog, day2.isoformat())["reader@example.org"][0] == "empty"
    # a new paper on the day after: the digest carries it and nothing already sent
    day3 = day2 + timedelta(days=1)
    community.submit(mail_catalog, ann, "arxiv:1706.03762", day2)
    community.submit(mail_catalog, ann, "arxiv:1511.06452", day2)
    send_digests(mail_catalog, day3, now=SEND_AT + timedelta(days=2))
    [m] = sink.to("reader@example.org")
    assert "Deep Metric Learning" in m.text and "Attention Is All You Need" not in m.text
    assert "1 new paper," in m.header("Subject")


def test_empty_digest_is_sent_when_skip_empty_is_off(mail_catalog: Catalog, sink: SmtpSink) -> None:
    mail_catalog.settings.digest_skip_empty = False
    confirmed(mail_catalog, "reader@example.org", content=["daily"])
    sink.clear()
    report = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    [m] = sink.to("reader@example.org")
    assert report.sent == 1 and "Nothing new" in m.html and "nothing new" in m.header("Subject")


def test_refused_recipients_do_not_stop_the_run_and_are_retried_with_backoff(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    for name in ("a", "gone", "b", "busy", "c"):
        confirmed(mail_catalog, f"{name}@example.org")
    sink.clear()
    sink.reject.add("gone@example.org")
    sink.defer.add("busy@example.org")
    report = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    assert (report.sent, report.failed) == (3, 2)
    log = _deliveries(mail_catalog, SEND_DAY.isoformat())
    assert log["gone@example.org"][:2] == ("failed", 1)
    assert log["busy@example.org"][:2] == ("failed", 1)
    with mail_catalog.store.session() as s:
        row = deliveries.delivery(s, 2, SEND_DAY.isoformat())
        assert row is not None and row.last_error and "550" in row.last_error
        assert row.next_attempt_at is not None
        wait = row.next_attempt_at - SEND_AT
        assert backoff(1) <= wait < backoff(1) + timedelta(minutes=1)
    # before the backoff elapses nobody is retried
    soon = send_digests(mail_catalog, SEND_DAY, now=SEND_AT + timedelta(minutes=5))
    assert (soon.sent, soon.failed, soon.skipped) == (0, 0, 2)
    # after it: the deferred one goes through, the refused one fails again with a longer backoff
    sink.defer.clear()
    later = send_digests(mail_catalog, SEND_DAY, now=SEND_AT + timedelta(minutes=20))
    assert (later.sent, later.failed) == (1, 1)
    log = _deliveries(mail_catalog, SEND_DAY.isoformat())
    assert log["busy@example.org"][:2] == ("sent", 2)
    assert log["gone@example.org"][:2] == ("failed", 2)
    for name in ("a", "b", "c", "busy"):
        assert len(sink.to(f"{name}@example.org")) == 1
    # the next day's run also retries the earlier period once its backoff has passed
    sink.reject.clear()
    next_day = send_digests(
        mail_catalog, SEND_DAY + timedelta(days=1), now=SEND_AT + timedelta(days=1)
    )
    assert next_day.retried_earlier == 1
    assert _deliveries(mail_catalog, SEND_DAY.isoformat())["gone@example.org"][0] == "sent"


def test_gives_up_after_max_attempts(mail_catalog: Catalog, sink: SmtpSink) -> None:
    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "gone@example.org")
    sink.reject.add("gone@example.org")
    at = SEND_AT
    for _ in range(delivery.MAX_ATTEMPTS):
        send_digests(mail_catalog, SEND_DAY, now=at)
        at += claims.BACKOFF_MAX + timedelta(minutes=1)
    with mail_catalog.store.session() as s:
        row = deliveries.delivery(s, 1, SEND_DAY.isoformat())
        assert row is not None
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "failed",
            delivery.MAX_ATTEMPTS,
            None,
        )
    assert send_digests(mail_catalog, SEND_DAY, now=at + timedelta(days=1)).failed == 0


def test_unreachable_server_stops_the_run(mail_catalog: Catalog, sink: SmtpSink) -> None:
    populate_community(mail_catalog, TODAY)
    for i in range(5):
        confirmed(mail_catalog, f"r{i}@example.org")
    mail_catalog.settings.smtp_port = 1  # nothing listens there
    report = send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    assert report.aborted and "cannot reach SMTP server" in report.aborted
    assert (report.sent, report.failed) == (0, delivery.MAX_UNREACHABLE)


def test_saved_searches_and_recommendations_for_account_holders(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    ann = accounts.authenticate(mail_catalog, "ann", "long password 1")
    library.save_search(mail_catalog, ann, "Warmup", "learning rate warmup")
    library.save(mail_catalog, ann, "arxiv:1511.06452", ["metric"])
    # subscribing with the account's address links the account on confirmation
    confirmed(mail_catalog, "ann@example.org", content=["searches", "recommendations"])
    sink.clear()
    send_digests(mail_catalog, SEND_DAY, now=SEND_AT)
    [m] = sink.to("ann@example.org")
    assert "Saved search: Warmup" in m.text
    # only papers since the last digest: today's paper, not the 2017/2019 warmup papers
    search_part = m.text.split("== Saved search: Warmup ==")[1].split("==")[0]
    assert "Warmup-Free Training" in search_part and "Variance of the Adaptive" not in search_part
    assert "Recommended for you" in m.text and "(like Deep Metric Learning" in m.text
    sent = _deliveries(mail_catalog, SEND_DAY.isoformat())["ann@example.org"][2]
    assert "arxiv:1511.06452" not in sent  # the saved paper itself is never recommended back
    assert len(sent) == len(set(sent)) >= 3


def test_cli_send_preview_list_and_exit_codes(mail_catalog: Catalog, sink: SmtpSink) -> None:
    from papersift.cli import main

    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "reader@example.org")
    data = str(mail_catalog.settings.data_dir)
    env = {
        "PAPERSIFT_SMTP_HOST": "127.0.0.1",
        "PAPERSIFT_SMTP_PORT": str(sink.port),
        "PAPERSIFT_SECRET_KEY": "test-signing-key",
        "PAPERSIFT_BASE_URL": "http://papersift.test",
    }
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        r = runner.invoke(main, ["--data-dir", data, "digest", *args], env=env)
        return r.exit_code, r.output

    code, out = run("preview", "--email", "reader@example.org", "--date", SEND_DAY.isoformat())
    assert code == 0 and "Attention Is All You Need" in out and "/unsubscribe?token=" in out
    code, out = run("send", "--date", SEND_DAY.isoformat(), "--dry-run", "--quiet")
    assert code == 0 and "would send 1" in out and sink.to("reader@example.org") == []
    code, out = run("send", "--date", SEND_DAY.isoformat(), "--quiet")
    assert code == 0 and "sent 1" in out and len(sink.to("reader@example.org")) == 1
    code, out = run("send", "--date", SEND_DAY.isoformat(), "--quiet")
    assert code == 1 and "sent 0" in out  # nothing left to send: exit 1, for chaining
    code, out = run("list")
    assert code == 0 and "reader@example.org" in out and "active" in out and "sent" in out
    code, out = run("preview", "--email", "nobody@example.org")
    assert code == 2 and "no subscription" in out
    code, out = run("send", "--date", "yesterday")
    assert code == 2


def test_scheduler_sends_from_the_configured_hour(mail_catalog: Catalog, sink: SmtpSink) -> None:
    from papersift.mail.scheduler import DigestScheduler

    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "reader@example.org")
    sink.clear()
    sched = DigestScheduler(mail_catalog)
    early = SEND_AT.replace(hour=mail_catalog.settings.digest_send_hour_utc - 1)
    assert sched.tick(early) is None and sink.messages == []
    report = sched.tick(SEND_AT)
    assert report is not None and report.sent == 1
    report = sched.tick(SEND_AT + timedelta(minutes=5))
    assert report is not None and (report.sent, report.due) == (0, 0)


def test_mail_tables_match_the_migration(mail_catalog: Catalog) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from papersift.store.schema import Base

    with mail_catalog.store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mail = [d for d in diff if "subscriptions" in repr(d) or "digest_deliveries" in repr(d)]
    assert mail == []


def test_compose_renders_templates_per_distinct_content_not_per_subscriber(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    populate_community(mail_catalog, TODAY)
    confirmed(mail_catalog, "r0@example.org")
    one = send_digests(mail_catalog, SEND_DAY, now=SEND_AT, dry_run=True)
    for i in range(1, 30):
        confirmed(mail_catalog, f"r{i}@example.org")
    many = send_digests(mail_catalog, SEND_DAY, now=SEND_AT, dry_run=True)
    assert (one.composed, many.composed, many.sent) == (1, 30, 0)
    assert many.renders == one.renders > 0
    assert sink.messages == []  # a dry run sends nothing ...
    assert _deliveries(mail_catalog, SEND_DAY.isoformat()) == {}  # ... and records nothing


def test_serve_starts_and_stops_the_scheduler_only_when_configured(mail_catalog: Catalog) -> None:
    import threading

    from fastapi.testclient import TestClient

    from papersift.web.app import create_app

    def running() -> bool:
        return any(t.name == "digest-scheduler" and t.is_alive() for t in threading.enumerate())

    with TestClient(create_app(catalog=mail_catalog)):
        assert not running()
    mail_catalog.settings.digest_scheduler = True
    with TestClient(create_app(catalog=mail_catalog)):
        assert running()
    assert not running()


def test_a_sharded_runs_reports_add_up() -> None:
    from papersift.mail.report import RunReport, merged

    a = RunReport(periods=["2026-W10"], due=3, sent=2, failed=1, renders=2, errors=["x: refused"])
    b = RunReport(periods=["2026-W10"], due=4, sent=4, lost_claims=1, aborted="SMTP unreachable")
    out = merged([a, b], seconds=1.5)
    assert (out.due, out.sent, out.failed, out.lost_claims, out.renders) == (7, 6, 1, 1, 2)
    assert out.errors == ["x: refused"] and out.aborted == "SMTP unreachable"
    assert out.seconds == 1.5 and out.periods == ["2026-W10"]
    assert "sent 6" in out.summary() and "stopped: SMTP unreachable" in out.summary()
