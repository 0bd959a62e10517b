"""Crash injection for the exactly-once tests: kill a digest run at a chosen point.

``PAPERSIFT_DIGEST_FAULT=after-accept:N`` (or ``after-claim:N``) makes the process exit
abruptly (``os._exit``, so no ``finally`` block and no commit runs) after the N-th message was
accepted by SMTP (or claimed). Those are the two points where a crash is worst for the delivery
protocol (papersift.mail.delivery), so the tests kill real processes there and check that the
next run neither loses nor repeats more than the guarantee allows. Unset, it costs nothing.
"""

from __future__ import annotations

import os

FAULT_ENV = "PAPERSIFT_DIGEST_FAULT"
FAULT_EXIT = 70


class Fault:
    def __init__(self, spec: str) -> None:
        kind, _, n = spec.partition(":")
        self.kind = kind.strip()
        self.at = int(n) if n.strip().isdigit() else 1
        self.seen = 0

    def point(self, kind: str) -> None:
        if kind == self.kind:
            self.seen += 1
            if self.seen >= self.at:
                os._exit(FAULT_EXIT)


def fault_from_env() -> Fault | None:
    """The fault :data:`FAULT_ENV` asks for, read when a run starts; None when it is unset."""
    spec = os.environ.get(FAULT_ENV, "")
    return Fault(spec) if spec else None
