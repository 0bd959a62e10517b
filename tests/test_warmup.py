"""A served catalogue is made ready before its first request: the model is loaded, and what the
process holds from then on is frozen out of the garbage collector's full passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_catalog
from fastapi.testclient import TestClient

from papersift.service.catalog import Catalog
from papersift.service.warmup import warm_up
from papersift.web.app import create_app


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Each test starts and ends with nothing frozen (other tests' objects must stay
    collectable)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_warm_up_loads_the_model_and_freezes_the_heap(small_catalog: Catalog) -> None:
    done = warm_up(small_catalog)
    assert done.encoder
    assert small_catalog._encoder is not None
    assert done.frozen == gc.get_freeze_count() > 1000
    # A full collection no longer walks the frozen objects.
    assert len(gc.get_objects()) < done.frozen


def test_warm_up_on_an_empty_catalogue(tmp_path: Path) -> None:
    cat = make_catalog(tmp_path / "empty")
    try:
        done = warm_up(cat)
        assert done.encoder and done.frozen > 0
    finally:
        cat.close()


def test_a_failing_warm_up_search_does_not_stop_the_server(
    small_catalog: Catalog, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index unreadable")

    monkeypatch.setattr("papersift.service.warmup.search", broken)
    done = warm_up(small_catalog)
    assert done.encoder and done.frozen > 0
    assert "warm-up search failed" in caplog.text and "index unreadable" in caplog.text


def test_serve_warms_up_before_the_first_request(small_catalog: Catalog) -> None:
    with TestClient(create_app(catalog=small_catalog, warm=True)) as client:
        assert small_catalog._encoder is not None
        assert gc.get_freeze_count() > 0
        r = client.get("/api/search", params={"q": "adaptive learning rate", "mode": "hybrid"})
        assert r.status_code == 200
        assert r.json()["hits"][0]["paper"]["title"].startswith("On the Variance")


def test_apps_for_tests_do_not_warm_up(small_catalog: Catalog) -> None:
    with TestClient(create_app(catalog=small_catalog)):
        assert gc.get_freeze_count() == 0
