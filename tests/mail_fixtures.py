"""Fixtures for the mail tests (a pytest plugin: ``pytest_plugins = ["mail_fixtures"]``): a real
SMTP server on loopback, and a catalogue to send digests from."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mail_helpers import TODAY, SinkServer, SmtpSink, mail_settings

from papersift.service.catalog import Catalog


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SinkServer() as s:
        yield s


@pytest.fixture(scope="session")
def mail_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the SMALL papers plus one published today, built once and copied."""
    from conftest import SMALL

    from papersift.service.ingesting import ingest

    path = tmp_path_factory.mktemp("mail-template") / "data"
    cat = Catalog(mail_settings(path, 25))
    fresh = replace(
        SMALL[3],
        title="Warmup-Free Training of Transformers with Adaptive Learning Rates",
        abstract="We remove the learning rate warmup from transformer training by bounding the "
        "adaptive step. Code: https://github.com/example/warmup-free",
        authors=["New Author", "Second Author", "Third Author", "Fourth Author"],
        arxiv_id="2611.00001",
        published=TODAY,
    )
    ingest(cat, [*SMALL, fresh], source="test", location="fixture")
    cat.close()
    return path


@pytest.fixture
def mail_catalog(mail_template: Path, sink: SmtpSink, tmp_path: Path) -> Iterator[Catalog]:
    data = tmp_path / "data"
    shutil.copytree(mail_template, data)
    cat = Catalog(mail_settings(data, sink.port))
    yield cat
    cat.close()
