"""Paced, retrying HTTP GET for polite harvesting of public APIs.

The network sources (the arXiv export API, arXiv's OAI-PMH endpoint) talk to public services that
ask for a pause between requests and answer 429/503 under load, sometimes with a
``Retry-After`` header. :class:`PoliteGetter` does that once for all of them: it keeps requests
at least a delay apart (the first goes out at once), follows redirects, and retries timeouts,
network errors, 429 and 5xx with exponential backoff, within a :class:`RetryPolicy` that each
source sets to its own service's habits. The sleep is injectable, so tests run instantly and can
assert every wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

Sleep = Callable[[float], None]
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})


class RemoteSourceError(RuntimeError):
    """A network source could not be read: failure after retries, HTTP error, unreadable body.

    ``detail`` is the message alone and ``url`` the request that failed (appended to the message
    in brackets), so a log line is enough to reproduce it. Each source subclasses it.
    """

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message if url is None else f"{message} [{url}]")
        self.detail = message
        self.url = url


class Pacer:
    """Keeps requests at least ``delay_s`` apart; arXiv asks one request every three seconds."""

    def __init__(self, delay_s: float, sleep: Sleep) -> None:
        self._delay_s = delay_s
        self._sleep = sleep
        self._first = True

    def wait(self, at_least: float = 0.0) -> None:
        """Sleep before a request; the first request of a run goes out at once."""
        if not self._first:
            self._sleep(max(self._delay_s, at_least))
        self._first = False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long :class:`PoliteGetter` waits before asking again.

    ``retries`` more attempts follow the first. The wait before attempt ``n + 1`` is
    ``backoff_s * 2**n``, at most ``max_backoff_s``, and never less than the pacer's delay. A
    ``Retry-After`` header (capped at ``retry_after_cap_s``) either only lengthens that wait or,
    with ``retry_after_replaces_backoff``, replaces it even when shorter (OAI-PMH flow control
    names the exact wait). Statuses in ``retry_statuses`` and every 5xx are retried; any other
    non-200 answer fails at once.
    """

    retries: int
    backoff_s: float
    max_backoff_s: float = math.inf
    retry_after_cap_s: float = 600.0
    retry_after_replaces_backoff: bool = False
    retry_statuses: frozenset[int] = RETRYABLE_STATUS


class PoliteGetter:
    """GETs from one service through a shared :class:`Pacer`, retrying per a :class:`RetryPolicy`.

    ``service`` names the service in error messages ("arXiv API answered HTTP 400: ...") and
    ``error`` builds the exception raised, from the message and the URL that failed.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        service: str,
        pacer: Pacer,
        policy: RetryPolicy,
        error: Callable[[str, str], Exception] = RemoteSourceError,
    ) -> None:
        self.client = client
        self.service = service
        self.pacer = pacer
        self.policy = policy
        self.error = error

    def get(self, base_url: str, params: Mapping[str, str]) -> bytes:
        """The body of a 200 answer; retries timeouts, network errors, 429 and 5xx with backoff."""
        url = str(httpx.URL(base_url, params=params))
        policy = self.policy
        last_failure = "no attempt made"
        wait_at_least = 0.0
        for attempt in range(policy.retries + 1):
            self.pacer.wait(wait_at_least)
            wait_at_least = min(policy.backoff_s * (2**attempt), policy.max_backoff_s)
            try:
                # arXiv moves endpoints with redirects (http -> https, oai2 -> oai).
                response = self.client.get(base_url, params=params, follow_redirects=True)
            except httpx.TimeoutException as exc:
                last_failure = f"timed out ({type(exc).__name__})"
                continue
            except httpx.TransportError as exc:
                last_failure = f"network error ({type(exc).__name__}: {exc})"
                continue
            status = response.status_code
            if status == 200:
                return response.content
            if status not in policy.retry_statuses and status < 500:
                snippet = response.text[:200].strip()
                raise self.error(f"{self.service} answered HTTP {status}: {snippet}", url)
            last_failure = f"HTTP {status}"
            asked = retry_after_s(response, policy.retry_after_cap_s)
            if not policy.retry_after_replaces_backoff:
                wait_at_least = max(wait_at_least, asked or 0.0)
            elif asked is not None:
                wait_at_least = asked
        raise self.error(
            f"{self.service} request failed after {policy.retries + 1} attempts, "
            f"last: {last_failure}",
            url,
        )


def retry_after_s(response: httpx.Response, cap_s: float = 600.0) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date), capped."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), cap_s)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap_s)
