"""``benchmarks/relevance.py`` end to end on a tiny BEIR-layout set shaped like FiQA and Quora:
no titles, and a query that is itself a corpus document (BEIR leaves it out of the scoring)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from papersift.config import Settings
from papersift.service.catalog import Catalog
from papersift.store.schema import Paper
from papersift.titles import title_from_abstract

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

DOCS = {
    "q1": "How do index funds keep their fees so low?",
    "d1": "Index funds keep their fees low because they track an index passively and trade "
    "rarely, so they pay no analysts.",
    "d2": "A mortgage broker is paid a commission by the lender when the loan closes.",
    "d3": "Dividends are paid out of a company's profits to its shareholders, usually quarterly.",
    "d4": "A Roth account is funded with income that has already been taxed.",
    "d5": "Bond prices fall when interest rates rise, because older coupons are worth less.",
}
QUERIES = {"q1": DOCS["q1"], "q2": "Who pays the mortgage broker?"}
QRELS = [("q1", "d1", 1), ("q2", "d2", 1)]


def _load() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # relevance.py imports its siblings beir.py and metrics.py
    try:
        spec = importlib.util.spec_from_file_location("relevance_bench", BENCH / "relevance.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _write(data: Path, title: str = "") -> None:
    (data / "qrels").mkdir(parents=True)
    with (data / "corpus.jsonl").open("w") as fh:
        for doc_id, text in DOCS.items():
            fh.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (data / "queries.jsonl").open("w") as fh:
        for qid, text in QUERIES.items():
            fh.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
    rows = "".join(f"{q}\t{d}\t{g}\n" for q, d, g in QRELS)
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)


def test_untitled_corpus_and_identical_query_ids(tmp_path: Path) -> None:
    data = tmp_path / "fiqa-like"
    _write(data)
    out = tmp_path / "rows.json"

    relevance = _load()
    code = relevance.main(
        [str(data), "--data-dir", str(tmp_path / "store"), "--json", str(out), "--modes",
         "keyword,hybrid"]
    )  # fmt: skip

    assert code == 0
    by_mode = {r["mode"]: r for r in json.loads(out.read_text())}
    # Every untitled document was ingested and found; q1's own document, which keyword search
    # ranks first, is not counted against it.
    for mode in ("keyword", "hybrid"):
        assert by_mode[mode]["ndcg@10"] == 1.0, by_mode[mode]
        assert by_mode[mode]["mrr@10"] == 1.0
        assert by_mode[mode]["queries"] == 2


def test_without_titles_drops_them_on_the_way_in(tmp_path: Path) -> None:
    data = tmp_path / "titled"
    _write(data, title="Personal finance answers")
    store = tmp_path / "store"
    code = _load().main([str(data), "--data-dir", str(store), "--modes", "keyword",
                         "--without-titles"])  # fmt: skip
    assert code == 0
    catalog = Catalog(Settings(data_dir=store))
    try:
        with catalog.store.session() as s:
            papers = list(s.scalars(select(Paper)))
    finally:
        catalog.close()
    assert sorted(p.title for p in papers) == sorted(title_from_abstract(t) for t in DOCS.values())


def test_two_corpora_of_one_name_get_two_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relevance = _load()
    monkeypatch.setattr(sys.modules["beir"], "BENCH_DIR", tmp_path / "bench")
    first, edited = tmp_path / "a" / "fiqa", tmp_path / "b" / "fiqa"
    _write(first)
    _write(edited, title="edited")

    store = relevance.default_data_dir("fiqa", first / "corpus.jsonl")
    assert store == tmp_path / "bench" / ".cache" / "fiqa"
    assert relevance.default_data_dir("fiqa", first / "corpus.jsonl") == store  # reused
    other = relevance.default_data_dir("fiqa", edited / "corpus.jsonl")
    assert other != store and other.name.startswith("fiqa-")
