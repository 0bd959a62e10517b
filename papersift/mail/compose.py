"""Digest and confirmation mails: Jinja2 templates rendered to a multipart/alternative message.

Rendering is the cost that grows with subscribers, so it is shared wherever content is:

- each section (``digest_section.html``/``.txt``) is rendered and quoted-printable-encoded once
  per run and distinct content (its papers);
- the layout (``digest.html``/``.txt``) is rendered once per period and paper count, with
  placeholders for the personal parts (the address, the unsubscribe and preferences links),
  which all sit in its footer, and encoded up to the first personal line;
- per subscriber, the encoded pieces are concatenated (quoted-printable encodes line by line,
  so pieces that end at a line break can be joined), only the footer is filled in and encoded,
  and the headers are written.

So 100k subscribers who get the same trending list cost a few template renders, not 100k, and
10k account holders with their own saved searches cost one render per distinct search result.

The MIME text is assembled directly (headers, two quoted-printable parts) rather than through
``email.message``: the result is plain RFC 5322/2045 that any parser reads (the tests parse it
with the standard library), at a fraction of the cost per message. The boundary starts with
``=_``, which quoted-printable text can never contain.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from papersift import __version__
from papersift.config import Settings
from papersift.mail.content import CONTENT_TITLES, Digest, Links, Section
from papersift.mail.periods import Period
from papersift.mail.tokens import Signer

TEMPLATES = Path(__file__).parent / "templates"
BOUNDARY = "=_papersift_alt"
_EMAIL = "\x00EMAIL\x00"
_UNSUBSCRIBE = "\x00UNSUBSCRIBE\x00"
_MANAGE = "\x00MANAGE\x00"
_PERSONAL = (_EMAIL, _UNSUBSCRIBE, _MANAGE)
_SECTIONS = "\x00SECTIONS\x00"
RENDER_CACHE_SIZE = 20_000


def environment() -> Environment:
    # .html autoescaped; .txt is plain text for the text/plain part (escaping would corrupt it).
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["version"] = __version__
    return env


@dataclass(frozen=True)
class Outgoing:
    """One message ready for SMTP."""

    to: str
    sender: str  # the envelope sender (bounces go here)
    message_id: str
    subject: str
    data: bytes


def _ascii_header(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends; lines encode independently, so encoded pieces
    that each end at a line break can be concatenated."""
    body = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")


def mime(headers: list[tuple[str, str]], text: bytes, html: bytes | None = None) -> bytes:
    """A complete message from headers and quoted-printable parts (see :func:`qp`)."""
    lines = [f"{k}: {_ascii_header(v)}" for k, v in headers]
    lines.append("MIME-Version: 1.0")
    plain = (
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    )
    if html is None:
        return ("\r\n".join([*lines, plain]) + "\r\n\r\n").encode("ascii") + text + b"\r\n"
    lines.append(f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"')
    return b"".join(
        [
            ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"),
            f"--{BOUNDARY}\r\n{plain}\r\n\r\n".encode("ascii"),
            text,
            f"\r\n--{BOUNDARY}\r\n".encode("ascii"),
            plain.replace("text/plain", "text/html").encode("ascii") + b"\r\n\r\n",
            html,
            f"\r\n--{BOUNDARY}--\r\n".encode("ascii"),
        ]
    )


def _split(rendered: str) -> tuple[bytes, str]:
    """(the encoded lines before the first personal one, the rest still to personalise)."""
    found = [i for i in (rendered.find(m) for m in _PERSONAL) if i >= 0]
    cut = rendered.rfind("\n", 0, min(found)) + 1 if found else len(rendered)
    return qp(rendered[:cut]), rendered[cut:]


@dataclass(frozen=True)
class _Rendered:
    """A digest rendered once for everyone who gets the same content: the part before the
    first personal line already encoded, the rest with placeholders."""

    subject: str
    text_head: bytes
    text_tail: str
    html_head: bytes
    html_tail: str


class Composer:
    """Renders digests and confirmation mails for one server (its links, sender and key)."""

    def __init__(self, settings: Settings, signer: Signer | None = None) -> None:
        self.settings = settings
        self.links = Links(settings.base_url)
        self.signer = signer or Signer(settings.signing_key())
        self.env = environment()
        self.sender_header = settings.mail_from
        name, addr = parseaddr(settings.mail_from)
        self.sender = addr or settings.mail_from
        self.sender_header = (
            formataddr((name, self.sender), charset="utf-8") if name else self.sender
        )
        self.domain = (
            self.sender.rpartition("@")[2] or urlsplit(settings.base_url).hostname or "localhost"
        )
        self._sections: dict[tuple[object, ...], bytes] = {}
        self._layouts: dict[tuple[str, str, int], tuple[bytes, bytes, str]] = {}
        self.renders = 0

    # -- links ------------------------------------------------------------------------------------
    def unsubscribe_url(self, subscription_id: int, version: int) -> str:
        # tokens are URL-safe (base64url and "."), so no quoting is needed
        token = self.signer.make("unsubscribe", subscription_id, version)
        return f"{self.links.base}/unsubscribe?token={token}"

    def manage_url(self, subscription_id: int, version: int) -> str:
        token = self.signer.make("manage", subscription_id, version)
        return f"{self.links.base}/subscribe/manage?token={token}"

    def confirm_url(self, subscription_id: int, version: int, email: str) -> str:
        token = self.signer.make("confirm", subscription_id, version, email)
        return self.links.page("/subscribe/confirm", token=token)

    def message_id(self, subscription_id: int, period: str) -> str:
        """Deterministic per (subscription, period): a re-send is recognisably the same mail."""
        tag = hashlib.sha256(f"{self.domain}:{subscription_id}:{period}".encode()).hexdigest()[:12]
        return f"<digest.{period}.{subscription_id}.{tag}@{self.domain}>"

    # -- digests ----------------------------------------------------------------------------------
    def _section(self, fmt: str, section: Section) -> bytes:
        """One section, rendered and encoded once per run and distinct content."""
        key = (fmt, section.signature)
        done = self._sections.get(key)
        if done is None:
            self.renders += 1
            text = self.env.get_template(f"digest_section.{fmt}").render(section=section)
            done = qp(text if text.endswith("\n") else text + "\n")
            if len(self._sections) >= RENDER_CACHE_SIZE:
                self._sections.clear()
            self._sections[key] = done
        return done

    def _layout(self, fmt: str, period: Period, count: int) -> tuple[bytes, bytes, str]:
        """(encoded lines before the sections, encoded lines after them up to the first
        personal one, the rest with placeholders), once per period, count and format."""
        key = (fmt, period.key, count)
        done = self._layouts.get(key)
        if done is None:
            self.renders += 1
            text = self.env.get_template(f"digest.{fmt}").render(
                period=period,
                count=count,
                subject=self._subject(period, count),
                site_url=self.links.base + "/",
                email=_EMAIL,
                unsubscribe_url=_UNSUBSCRIBE,
                manage_url=_MANAGE,
                sections=_SECTIONS,
            )
            before, _, after = text.partition(_SECTIONS + "\n")
            static, personal = _split(after)
            done = self._layouts[key] = (qp(before), static, personal)
        return done

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (one Composer per run; tiny strings)
    def _subject(self, period: Period, count: int) -> str:
        if not count:
            return f"papersift: nothing new, {period.label()}"
        return f"papersift: {count} new paper{'s' if count != 1 else ''}, {period.label()}"

    def _assemble(self, fmt: str, digest: Digest) -> tuple[bytes, str]:
        before, static, personal = self._layout(fmt, digest.period, digest.count)
        sections = [self._section(fmt, s) for s in digest.sections]
        return b"".join([before, *sections, static]), personal

    def _render_digest(self, digest: Digest) -> _Rendered:
        subject = self._subject(digest.period, digest.count)
        return _Rendered(subject, *self._assemble("txt", digest), *self._assemble("html", digest))

    def digest(
        self,
        *,
        subscription_id: int,
        version: int,
        email: str,
        digest: Digest,
        now: datetime,
    ) -> Outgoing:
        r = self._render_digest(digest)
        unsubscribe = self.unsubscribe_url(subscription_id, version)
        manage = self.manage_url(subscription_id, version)
        text = (
            r.text_tail.replace(_EMAIL, email)
            .replace(_UNSUBSCRIBE, unsubscribe)
            .replace(_MANAGE, manage)
        )
        html = (
            r.html_tail.replace(_EMAIL, str(escape(email)))
            .replace(_UNSUBSCRIBE, str(escape(unsubscribe)))
            .replace(_MANAGE, str(escape(manage)))
        )
        message_id = self.message_id(subscription_id, digest.period.key)
        headers = [
            ("From", self.sender_header),
            ("To", email),
            ("Subject", r.subject),
            ("Date", format_datetime(now.replace(tzinfo=UTC))),
            ("Message-ID", message_id),
            ("List-Id", f"papersift digest <digest.{self.domain}>"),
            # RFC 8058: a one-click HTTPS POST target; mail providers show an unsubscribe button.
            ("List-Unsubscribe", f"<{unsubscribe}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"),
            ("X-Papersift-Period", digest.period.key),
        ]
        data = mime(headers, r.text_head + qp(text), r.html_head + qp(html))
        return Outgoing(email, self.sender, message_id, r.subject, data)

    # -- confirmation -----------------------------------------------------------------------------
    def confirmation(
        self,
        *,
        subscription_id: int,
        version: int,
        email: str,
        frequency: str,
        content: list[str],
        already: bool,
        now: datetime,
    ) -> Outgoing:
        """The double opt-in mail, or (``already``) a note with the preferences link."""
        ctx = {
            "email": email,
            "already": already,
            "frequency": frequency,
            "content": [CONTENT_TITLES.get(c, c) for c in content],
            "confirm_url": "" if already else self.confirm_url(subscription_id, version, email),
            "manage_url": self.manage_url(subscription_id, version) if already else "",
            "site_url": self.links.base + "/",
            "hours": 48,
        }
        subject = (
            "papersift: you are already subscribed"
            if already
            else "papersift: confirm your digest subscription"
        )
        headers = [
            ("From", self.sender_header),
            ("To", email),
            ("Subject", subject),
            ("Date", format_datetime(now.replace(tzinfo=UTC))),
            ("Message-ID", make_msgid("confirm", self.domain)),
            ("Auto-Submitted", "auto-generated"),
        ]
        text = qp(self.env.get_template("confirm.txt").render(ctx))
        html = qp(self.env.get_template("confirm.html").render(ctx))
        return Outgoing(email, self.sender, headers[4][1], subject, mime(headers, text, html))
