"""The `papersift` command, run as a user would (through click's runner, real data dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from papersift.cli import main


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_ingest_search_similar_stats_from_the_terminal(tmp_path: Path) -> None:
    data = tmp_path / "papers.jsonl"
    rows = [
        {"id": "2101.00001", "title": "Warmup schedules for learning rates",
         "summary": "Learning rate warmup stabilises early training.", "authors": ["A. One"],
         "categories": ["cs.LG"]},
        {"id": "2101.00002", "title": "Metric learning with contrastive loss",
         "summary": "A contrastive loss pulls similar pairs together.", "authors": ["B. Two"],
         "categories": ["cs.CV"]},
        {"title": "", "summary": "  "},
    ]  # fmt: skip
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    code, out = run(tmp_path / "d", "ingest", "jsonl", str(data), "--quiet")
    assert code == 0, out
    assert "read 2, new 2" in out and "problems 2" in out
    code, out = run(tmp_path / "d", "search", "learning rate warmup", "--mode", "keyword")
    assert code == 0 and "Warmup schedules for learning rates" in out.splitlines()[1]
    code, out = run(tmp_path / "d", "search", "contrastive", "--json")
    assert json.loads(out)["hits"][0]["paper"]["id"] == "arxiv:2101.00002"
    code, out = run(tmp_path / "d", "similar", "2101.00001", "--json")
    assert code == 0 and json.loads(out)["hits"][0]["paper"]["id"] == "arxiv:2101.00002"
    code, out = run(tmp_path / "d", "stats")
    assert code == 0 and "papers          2" in out
    code, out = run(tmp_path / "d", "show", "2101.00001", "--bibtex")
    assert code == 0 and out.startswith("@") and "Warmup schedules for learning rates" in out
    code, out = run(tmp_path / "d", "show", "nope")
    assert code == 2 and "no paper" in out


def test_unknown_source_is_one_clear_line(tmp_path: Path) -> None:
    code, out = run(tmp_path, "ingest", "bibtex", __file__)
    assert code == 2 and out.startswith("error: unknown source 'bibtex'")


def test_reindex_vectors_only_builds_an_older_graph_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vector graph from before its build width was recorded (an older papersift, built
    narrower) is searched wider until rebuilt; `reindex --vectors-only` rebuilds it from the
    cached embeddings and leaves the keyword index as it was."""
    from papersift.index.hnsw_width import EF_ADD, LEGACY_EF_ADD, record_path
    from papersift.index.vector import VectorIndex
    from papersift.service import catalog as catalog_module

    data = tmp_path / "papers.jsonl"
    rows = [
        {"id": f"2101.0000{i}", "title": f"Paper {i} on learning rates",
         "summary": f"Abstract {i}: warmup and learning rate schedules.", "authors": ["A. One"]}
        for i in range(1, 6)
    ]  # fmt: skip
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    d = tmp_path / "d"
    assert run(d, "ingest", "jsonl", str(data), "--quiet")[0] == 0
    (graph,) = (d / "index").glob("vectors-*.usearch")
    record_path(graph).unlink()  # as papersift before session 13 left it
    assert VectorIndex(graph, 384, "x").built_with == LEGACY_EF_ADD

    def no_keyword_rebuild(path: Path) -> None:
        raise AssertionError("the keyword index was rebuilt")

    monkeypatch.setattr(catalog_module.KeywordIndex, "recreate", no_keyword_rebuild)
    code, out = run(d, "reindex", "--vectors-only")
    assert code == 0, out
    assert VectorIndex(graph, 384, "x").built_with == EF_ADD
    code, out = run(d, "search", "learning rate warmup", "--mode", "semantic", "--json")
    assert code == 0 and len(json.loads(out)["hits"]) == 5
    code, out = run(d, "reindex", "--vectors-only", "--no-embed")
    assert code == 2 and "nothing to rebuild" in out
