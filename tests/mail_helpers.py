"""A real SMTP server for the mail tests: aiosmtpd on a free loopback port, keeping what it gets.

``SmtpSink.reject`` holds addresses it refuses at RCPT TO (550, like a mailbox that does not
exist); ``SmtpSink.defer`` ones it refuses with 451 (try again later).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from papersift.config import Settings
from papersift.service.catalog import Catalog

TODAY = datetime.now(UTC).date()
# The period whose digest covers today (votes and daily entries the tests make land today).
SEND_DAY = TODAY + timedelta(days=1)
SEND_AT = datetime.combine(SEND_DAY, datetime.min.time()).replace(hour=7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())

    def header(self, name: str) -> str:
        return str(self.message[name] or "")

    def link(self, path: str) -> str:
        """The first absolute link to ``path`` (e.g. "/subscribe/confirm") in the text part."""
        m = re.search(
            r"https?://[^\s/]+" + re.escape(path) + r"\?token=[A-Za-z0-9_.\-%]+", self.text
        )
        assert m, f"no {path} link in:\n{self.text}"
        return m.group(0)


@dataclass
class SmtpSink:
    port: int
    messages: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    delay: float = 0.0  # seconds per message, to make runs overlap
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Received]:
        # compared case-insensitively: aiosmtpd lowercases what it hands the handler
        with self.lock:
            return [m for m in self.messages if address.lower() in map(str.lower, m.rcpt_tos)]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    # aiosmtpd handler hooks (their names are aiosmtpd's)
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 no such mailbox here"
        if address in self.defer:
            return "451 4.2.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 accepted"


class SinkServer:
    def __init__(self) -> None:
        self.sink = SmtpSink(port=free_port())
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.sink.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self.sink

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def mail_settings(data_dir: Path, smtp_port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "search_rate_per_minute": 0,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "base_url": "http://papersift.test",
        "secret_key": "test-signing-key",
        "mail_from": "papersift digest <digest@papersift.test>",
        **extra,
    }
    return Settings(**values)


def populate_community(catalog: Catalog, day: date) -> None:
    """Two users' votes and a daily list on ``day``, so digests have something to carry."""
    from papersift.service import accounts, community

    ann = accounts.sign_up(catalog, "ann", "ann@example.org", "long password 1")
    ben = accounts.sign_up(catalog, "ben", "ben@example.org", "long password 2")
    for pid in ("arxiv:1706.03762", "arxiv:1908.03265", "arxiv:2002.05709"):
        community.submit(catalog, ann, pid, day)
    community.vote(catalog, ann, "arxiv:1706.03762")
    community.vote(catalog, ben, "arxiv:1706.03762")
    community.vote(catalog, ben, "arxiv:1908.03265")


def confirmed(catalog: Catalog, email: str, **kwargs: Any) -> None:
    """Subscribe ``email`` and open the confirmation link from the mail (without sending it)."""
    from papersift.service import subscriptions as subs

    out = subs.subscribe(catalog, email, **kwargs)
    assert out is not None
    received = Received(out.sender, [out.to], out.data)
    token = received.link("/subscribe/confirm").split("token=", 1)[1]
    subs.confirm(catalog, token)


def subprocess_env(catalog: Catalog, **extra: str) -> dict[str, str]:
    import os

    s = catalog.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSIFT_")}
    env.update(
        PAPERSIFT_SMTP_HOST=s.smtp_host,
        PAPERSIFT_SMTP_PORT=str(s.smtp_port),
        PAPERSIFT_BASE_URL=s.base_url,
        PAPERSIFT_SECRET_KEY=s.secret_key,
        PAPERSIFT_MAIL_FROM=s.mail_from,
        **extra,
    )
    return env
