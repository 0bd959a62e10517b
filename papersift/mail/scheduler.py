"""The optional in-process scheduler of ``papersift serve`` (``PAPERSIFT_DIGEST_SCHEDULER=1``).

A daemon thread that wakes every :data:`TICK_SECONDS` and, from ``digest_send_hour_utc`` on,
runs the same :func:`papersift.mail.sharding.send_digests` as ``papersift digest send``. A tick
with nothing due costs two COUNT queries; the delivery log makes every tick idempotent, so a
restart, a second server process, or cron running beside it sends nothing twice. Ticks after the
first of the day are what retry failed deliveries once their backoff has elapsed.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from papersift.mail.report import RunReport
from papersift.mail.sharding import send_digests
from papersift.service.catalog import Catalog
from papersift.store.schema import utcnow

log = logging.getLogger(__name__)
TICK_SECONDS = 300.0


class DigestScheduler:
    def __init__(self, catalog: Catalog, interval: float = TICK_SECONDS) -> None:
        self.catalog = catalog
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: datetime | None = None) -> RunReport | None:
        """One wake-up: send what is due (None before the send hour)."""
        now = now or utcnow()
        if now.hour < self.catalog.settings.digest_send_hour_utc:
            return None
        report = send_digests(self.catalog, now.date(), now=now)
        if report.sent or report.failed or report.aborted:
            log.info("digest scheduler: %s", report.summary())
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep the server's scheduler alive; the next tick retries
                log.exception("digest scheduler tick failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="digest-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
