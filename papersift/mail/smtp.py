"""Talking to any SMTP server: plain, STARTTLS or implicit TLS, with optional AUTH.

One connection is kept open for a run and re-opened when the server drops it. Failures are
sorted by what they mean for the exactly-once log (papersift.mail.delivery):

- :class:`Rejected`: the server refused this message or recipient (4xx/5xx). It was not
  delivered; the run records it and goes on with the next subscriber.
- :class:`Unreachable`: no connection could be made. Nothing was delivered; after a few in a row
  the run stops rather than mark every subscriber failed.
- :class:`Uncertain`: the connection broke after the message data was sent but before the
  server's reply. It may or may not have been accepted, so it is not retried in this run; the
  next run re-sends it with the same Message-ID.

Before the message data (MAIL FROM, RCPT TO) a dropped connection is retried once on a fresh
one, since nothing can have been delivered yet.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from typing import Protocol

from papersift.config import Settings


class SendError(Exception):
    """The message was not (known to be) accepted."""


class Rejected(SendError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


class Unreachable(SendError):
    pass


class Uncertain(SendError):
    pass


class Transport(Protocol):
    def send(self, sender: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


def _text(resp: bytes | str) -> str:
    return resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)


class SmtpTransport:
    """Sends through ``settings.smtp_*``; one instance per run (not thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            conn: smtplib.SMTP
            if s.smtp_security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                    context=ssl.create_default_context(),
                )  # fmt: skip
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            conn.ehlo_or_helo_if_needed()
            if s.smtp_security == "starttls":
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if s.smtp_username:
                conn.login(s.smtp_username, s.smtp_password.get_secret_value())
        except smtplib.SMTPAuthenticationError as exc:
            raise Unreachable(f"SMTP login to {s.smtp_host}:{s.smtp_port} failed: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(
                f"cannot reach SMTP server {s.smtp_host}:{s.smtp_port} ({s.smtp_security}): {exc}"
            ) from exc
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                code, resp = conn.mail(sender)
                if code == 250:
                    code, resp = conn.rcpt(recipient)
                    ok = code in (250, 251)
                else:
                    ok = False
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()  # nothing was sent: a fresh connection may well work
                if attempt == 2:
                    raise Unreachable(f"SMTP connection lost before sending: {exc}") from exc
                continue
            if not ok:
                self._reset()
                raise Rejected(code, _text(resp))
            break
        try:
            code, resp = conn.data(data)
        except smtplib.SMTPDataError as exc:  # refused at DATA (before the message was sent)
            self._reset()
            raise Rejected(exc.smtp_code, _text(exc.smtp_error)) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise Uncertain(f"SMTP connection lost while sending: {exc}") from exc
        if code != 250:
            self._reset()
            raise Rejected(code, _text(resp))

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
        self._drop()
