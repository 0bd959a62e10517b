"""A per-client token bucket for public search endpoints.

In-process and memory-bounded: enough for one server; a multi-process deployment puts its proxy's
limiter in front instead.
"""

from __future__ import annotations

import threading
import time

from fastapi import Request

MAX_CLIENTS = 10_000


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute, 1))
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def check(self, client: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self.buckets[client] = (tokens, now)
                raise RateLimited(int((1.0 - tokens) / self.rate) + 1)
            if len(self.buckets) >= MAX_CLIENTS and client not in self.buckets:
                self.buckets.clear()
            self.buckets[client] = (tokens - 1.0, now)


def limit_search(request: Request) -> None:
    """FastAPI dependency: one token per search from this client address."""
    app = request.app
    limiter: RateLimiter | None = getattr(app.state, "search_limiter", None)
    if limiter is None:
        limiter = app.state.search_limiter = RateLimiter(app.state.settings.search_rate_per_minute)
    limiter.check(request.client.host if request.client else "unknown")


def limit_login(request: Request) -> None:
    """FastAPI dependency: password attempts and sign-ups per client address."""
    per_minute = request.app.state.settings.login_rate_per_minute
    if per_minute <= 0:
        return
    limiter: RateLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = request.app.state.login_limiter = RateLimiter(per_minute)
    limiter.check(request.client.host if request.client else "unknown")
