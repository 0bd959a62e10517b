"""Who holds a delivery claim, whether that holder still lives, and when a row may be taken.

A digest run claims each (subscription, period) row in the delivery log under an owner id,
``host:pid:nonce`` (see papersift.mail.delivery for the protocol). Another run may take a pending
row over once its lease has expired, or sooner when the holder is known to be dead: on the same
host, its process no longer exists (or, in this very process, its run has finished). That check
is here, with the registry of the runs alive in this process that it needs, so that a re-run
right after a crash does not wait out the lease. A failed row is retried after an exponential
backoff, computed here too; :func:`takeable` puts these rules together for one row.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from datetime import datetime, timedelta

from papersift.store.deliveries import DueRow

BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=12)

_live_runs: set[str] = set()  # owners of the runs alive in this process
_live_lock = threading.Lock()


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def mark_running(owner: str) -> None:
    """Record that a run of this process holds claims as ``owner`` (until :func:`mark_done`)."""
    with _live_lock:
        _live_runs.add(owner)


def mark_done(owner: str) -> None:
    """The run is over: from now on its leftover claims may be taken over at once."""
    with _live_lock:
        _live_runs.discard(owner)


def owner_alive(owner: str) -> bool:
    """False only when we know the run is gone: same host, and its process no longer exists."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid = parts[0], int(parts[1])
    if host != socket.gethostname():
        return True  # another machine: wait for the lease to expire
    if pid == os.getpid():
        with _live_lock:
            return owner in _live_runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def takeable(row: DueRow, now: datetime) -> tuple[bool, str | None]:
    """Can a run take the row at ``now``? And whose dead claim it would take over.

    The database has the last word (the claim is a compare-and-set); this only spares a run
    composing digests it could not claim, and names the dead holder the claim may displace.
    """
    if row.status is None:
        return True, None
    if row.status == "failed":
        return row.next_attempt_at is not None and row.next_attempt_at <= now, None
    if row.claimed_until is None or row.claimed_until < now:
        return True, None
    if row.claimed_by and not owner_alive(row.claimed_by):
        return True, row.claimed_by
    return False, None


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 15 min after the first failure, doubling, at most 12 h."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
