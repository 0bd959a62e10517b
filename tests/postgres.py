"""A throw-away PostgreSQL server for the tests, from Debian's postgresql package.

Started once per test session in a temporary directory, listening only on a Unix socket, and
stopped at the end; each test gets a fresh database in it. ``./scripts/setup.sh`` installs the
package, so CI always exercises the production database path. Where no server binaries exist
(a laptop without PostgreSQL) the PostgreSQL tests are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres() -> list[str]:
    """initdb refuses to run as root: run the server as the package's postgres user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root, but no 'postgres' user can run the server") from exc
    return ["runuser", "-u", "postgres", "--"]


def available() -> str | None:
    """None when a server can be started here, else why not."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'papersift[postgres]')"
    return None


@contextmanager
def server() -> Iterator[str]:
    """Yield a libpq connection string of a fresh server; the server is removed afterwards."""
    prefix = _as_postgres()
    root = Path(tempfile.mkdtemp(prefix="papersift-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    run = lambda *cmd: subprocess.run(  # noqa: E731
        [*prefix, *cmd], check=True, capture_output=True, text=True
    )
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb and pg_ctl
    run(initdb, "-D", str(data), "-A", "trust", "-U", "papersift", "-E", "UTF8", "--no-sync")
    opts = f"-k {sock} -c listen_addresses='' -c fsync=off -c full_page_writes=off -p 54329"
    run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"host={sock} port=54329 user=papersift dbname=postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(dsn: str) -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(part.split("=", 1) for part in dsn.split())
    return (
        f"postgresql+psycopg://{params['user']}@/{name}?host={params['host']}&port={params['port']}"
    )
