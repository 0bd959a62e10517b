"""Fixtures that build real catalogues: a real SQLite store, real tantivy and usearch indexes, and
the shipped MiniLM encoder (no network, no stubs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from papersift.config import Settings
from papersift.records import PaperRecord
from papersift.service.catalog import Catalog

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


SMALL = [
    PaperRecord(
        title="Attention Is All You Need",
        abstract="We propose the Transformer, a network architecture based solely on attention "
        "mechanisms, dispensing with recurrence and convolutions. We use a learning rate warmup "
        "schedule. Code: https://github.com/tensorflow/tensor2tensor",
        authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
        arxiv_id="1706.03762",
        version=5,
        categories=["cs.CL", "cs.LG"],
        published=date(2017, 6, 12),
        source="test",
    ),
    PaperRecord(
        title="A Simple Framework for Contrastive Learning of Visual Representations",
        abstract="SimCLR learns visual representations with a contrastive loss between augmented "
        "views of the same image; large batches and a nonlinear projection head help.",
        authors=["Ting Chen", "Simon Kornblith", "Mohammad Norouzi", "Geoffrey Hinton"],
        arxiv_id="2002.05709",
        categories=["cs.LG", "cs.CV", "stat.ML"],
        published=date(2020, 2, 13),
        source="test",
    ),
    PaperRecord(
        title="Deep Metric Learning via Lifted Structured Feature Embedding",
        abstract="We learn an embedding where similar images are close, with a structured "
        "triplet-style loss over all pairs in a batch, for metric learning and retrieval.",
        authors=["Hyun Oh Song", "Yu Xiang", "Stefanie Jegelka", "Silvio Savarese"],
        arxiv_id="1511.06452",
        categories=["cs.CV"],
        published=date(2015, 11, 19),
        source="test",
    ),
    PaperRecord(
        title="On the Variance of the Adaptive Learning Rate and Beyond",
        abstract="The learning rate warmup heuristic stabilises training of adaptive optimisers "
        "such as Adam; we identify the variance of the adaptive learning rate as the cause "
        "and propose RAdam, which rectifies it.",
        authors=["Liyuan Liu", "Haoming Jiang", "Pengcheng He"],
        arxiv_id="1908.03265",
        categories=["cs.LG", "stat.ML"],
        published=date(2019, 8, 8),
        source="test",
    ),
    PaperRecord(
        title="Photosynthesis efficiency in C4 crops under drought",
        abstract="Field measurements of leaf gas exchange show how maize and sorghum keep "
        "photosynthetic efficiency under water deficit.",
        authors=["A. Botanist"],
        doi="10.1000/plants.2021.1",
        categories=["q-bio.PE"],
        published=date(2021, 3, 1),
        source="test",
    ),
]


def make_catalog(tmp: Path) -> Catalog:
    return Catalog(Settings(data_dir=tmp, search_rate_per_minute=0))


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = make_catalog(tmp_path / "data")
    yield cat
    cat.close()


@pytest.fixture
def small_catalog(catalog: Catalog) -> Catalog:
    from papersift.service.ingesting import ingest

    ingest(catalog, list(SMALL), source="test", location="fixture")
    return catalog


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    from papersift.demo import load_demo

    cat = make_catalog(tmp_path_factory.mktemp("demo"))
    load_demo(cat)
    yield cat
    cat.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for this test session (see tests/postgres.py)."""
    import postgres

    why = postgres.available()
    if why:
        pytest.skip(why)
    with postgres.server() as dsn:
        yield dsn


@pytest.fixture
def pg_catalog(tmp_path: Path, postgres_dsn: str) -> Iterator[Catalog]:
    """A catalogue whose store is a fresh PostgreSQL database (indexes stay on disk)."""
    import postgres

    url = postgres.fresh_database(postgres_dsn)
    cat = Catalog(Settings(data_dir=tmp_path / "data", db_url=url, search_rate_per_minute=0))
    yield cat
    cat.close()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright, one per test module: the browser tests' set-up."""
    import shutil

    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed (scripts/setup.sh installs it)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(catalog: Catalog) -> Iterator[str]:
    """The web app on a real port, served by uvicorn on a thread: for browsers and HTTP clients."""
    import threading
    import time

    import uvicorn

    from papersift.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(catalog=catalog), host="127.0.0.1", port=port,
                            log_level="warning")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
