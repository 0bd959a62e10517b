"""Exactly-once under failure: `papersift digest send` killed mid-run, then run again; two runs at
once. Real processes, a real SMTP server, a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from mail_helpers import (
    SEND_DAY,
    TODAY,
    SmtpSink,
    confirmed,
    populate_community,
    subprocess_env,
)

from papersift.mail.faults import FAULT_ENV, FAULT_EXIT
from papersift.service.catalog import Catalog

pytest_plugins = ["mail_fixtures"]  # the SMTP sink and mail catalogue fixtures

PAPERSIFT = str(Path(sys.executable).parent / "papersift")
READERS = [f"reader{i}@example.org" for i in range(8)]


def _send(catalog: Catalog, **env: str) -> subprocess.Popen[str]:
    args = [PAPERSIFT, "--data-dir", str(catalog.settings.data_dir), "digest", "send",
            "--date", SEND_DAY.isoformat(), "--quiet"]  # fmt: skip
    return subprocess.Popen(
        args,
        env=subprocess_env(catalog, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _run(catalog: Catalog, **env: str) -> tuple[int, str]:
    proc = _send(catalog, **env)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def _setup(catalog: Catalog) -> None:
    populate_community(catalog, TODAY)
    for email in READERS:
        confirmed(catalog, email)


def _message_ids(sink: SmtpSink) -> dict[str, list[str]]:
    return {r: [m.header("Message-ID") for m in sink.to(r)] for r in READERS}


def test_killed_after_smtp_accepted_then_rerun_resends_only_that_message_with_its_message_id(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    _setup(mail_catalog)
    code, out = _run(mail_catalog, **{FAULT_ENV: "after-accept:3"})
    assert code == FAULT_EXIT, out
    assert len(sink.messages) == 3  # the third was accepted, then the process died
    code, out = _run(mail_catalog)
    assert code == 0, out
    assert "sent 6" in out  # the third again, and the five never tried
    ids = _message_ids(sink)
    assert all(ids[r] for r in READERS)  # no gaps
    copies = Counter(len(v) for v in ids.values())
    assert copies == {1: 7, 2: 1}  # one duplicate: the message in flight at the crash ...
    [twice] = [v for v in ids.values() if len(v) == 2]
    assert twice[0] == twice[1]  # ... re-sent with the same Message-ID
    assert len({v[0] for v in ids.values()}) == len(READERS)
    code, out = _run(mail_catalog)
    assert code == 1 and len(sink.messages) == 9  # nothing left: exit 1, nothing sent


def test_killed_between_claim_and_send_then_rerun_sends_everyone_exactly_once(
    mail_catalog: Catalog, sink: SmtpSink
) -> None:
    _setup(mail_catalog)
    code, out = _run(mail_catalog, **{FAULT_ENV: "after-claim:4"})
    assert code == FAULT_EXIT, out
    assert len(sink.messages) == 3  # the fourth was claimed and committed, never sent
    code, out = _run(mail_catalog)
    assert code == 0, out
    ids = _message_ids(sink)
    assert all(len(v) == 1 for v in ids.values()), ids


def test_two_runs_at_once_send_each_digest_once(mail_catalog: Catalog, sink: SmtpSink) -> None:
    _setup(mail_catalog)
    sink.delay = 0.15  # a slow server, so the two runs overlap for the whole period
    first, second = _send(mail_catalog), _send(mail_catalog)
    outs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert {first.returncode, second.returncode} <= {0, 1}, outs
    ids = _message_ids(sink)
    assert all(len(v) == 1 for v in ids.values()), (ids, outs)
    assert len(sink.messages) == len(READERS)
