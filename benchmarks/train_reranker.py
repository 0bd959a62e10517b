"""Train the hybrid reranker (papersift/rank/models/rerank.json) on a BEIR data set's train split.

Usage::

    pip install -e '.[bench]'  # lightgbm, for training only; papersift runs the trees in numpy
    python benchmarks/train_reranker.py ../shared/data/scifact [--split train] [--out PATH]
    PAPERSIFT_ENCODER=static-minilm python benchmarks/train_reranker.py ../shared/data/scifact \
        --data-dir benchmarks/.cache/scifact-static   # the static encoder's own model

For every judged query of the split it runs papersift's own hybrid retrieval (the keyword and
semantic lists and their fusion, as :func:`papersift.service.searching.search` does with the
rerank off), computes :func:`papersift.rank.rerank.features` for the fused top 100, and labels
each candidate with its qrels grade. LambdaMART (LightGBM) settings are chosen by 5-fold
cross-validation over the split's queries, with queries that share a relevant document in the
same fold (:func:`grouped_folds`); the chosen model is refit on the whole split and written as
flat arrays. Never pass ``--split test``: the test split is for reporting only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from beir import default_data_dir, ingest_corpus, load_dataset
from metrics import mean, ndcg_at_k

from papersift.config import Settings
from papersift.index.query import parse_query
from papersift.rank import rerank as reranking
from papersift.service.catalog import Catalog
from papersift.service.coverage import Coverage
from papersift.service.searching import (
    _fuse_with_feedback,
    _keyword,
    _semantic_for_vector,
)

GRID = [(2, 0.05), (4, 0.05), (8, 0.05), (16, 0.05)]  # (num_leaves, learning_rate)
ROUNDS = [50, 100, 200, 300]
FOLDS = 5


def query_rows(catalog: Catalog, text: str) -> tuple[list[int], np.ndarray] | None:
    """Candidates and features for one query, exactly as the service's hybrid path has them."""
    parsed = parse_query(text)
    depth = catalog.settings.fusion_depth
    kw, _ = _keyword(catalog, parsed.text, parsed.filters, depth, "relevance")
    vec = catalog.embed_query(parsed.text)
    lists = {
        "keyword": kw,
        "semantic": _semantic_for_vector(catalog, vec, parsed.filters, depth, set()),
    }
    fused = _fuse_with_feedback(catalog, lists, parsed.text, parsed.filters, depth, "relevance")
    head = [f.num for f in fused[: reranking.RERANK_DEPTH]]
    if len(head) < 2:
        return None
    x = reranking.features(
        lists["keyword"],
        lists["semantic"],
        head,
        vec,
        catalog.vectors.vectors_of,
        depth,
        Coverage(catalog, parsed.text)(head),
    )
    return head, x


def _flatten(root: dict[str, Any], num_leaves: int) -> tuple[dict[str, list[Any]], int]:
    """One LightGBM tree -> flat arrays (children: node index or ~leaf) and its depth."""
    n_inner = num_leaves - 1
    t: dict[str, list[Any]] = {
        "feature": [0] * n_inner,
        "threshold": [0.0] * n_inner,
        "left": [0] * n_inner,
        "right": [0] * n_inner,
        "leaf": [0.0] * num_leaves,
    }
    if "split_index" not in root:  # a single leaf
        return {
            "feature": [],
            "threshold": [],
            "left": [],
            "right": [],
            "leaf": [root["leaf_value"]],
        }, 1

    def child(node: dict[str, Any]) -> int:
        return int(node["split_index"]) if "split_index" in node else ~int(node["leaf_index"])

    def walk(node: dict[str, Any], d: int) -> int:
        if "split_index" not in node:
            t["leaf"][node["leaf_index"]] = node["leaf_value"]
            return d
        if node["decision_type"] != "<=":
            raise SystemExit(f"unsupported split {node['decision_type']}")
        i = node["split_index"]
        t["feature"][i] = node["split_feature"]
        t["threshold"][i] = node["threshold"]
        t["left"][i] = child(node["left_child"])
        t["right"][i] = child(node["right_child"])
        return max(walk(node["left_child"], d + 1), walk(node["right_child"], d + 1))

    return t, walk(root, 0) + 1


def to_arrays(booster: Any) -> tuple[list[dict[str, list[Any]]], int]:
    """LightGBM's nested dump -> per-tree flat arrays, and the deepest path's length."""
    trees, depth = [], 1
    for info in booster.dump_model()["tree_info"]:
        t, d = _flatten(info["tree_structure"], info["num_leaves"])
        trees.append(t)
        depth = max(depth, d)
    return trees, depth


def ndcg_of(
    order_nums: Sequence[int], qrels: dict[str, int], paper_map: dict[int, list[str]]
) -> float:
    ranked = [cid for n in order_nums for cid in paper_map.get(n, [])]
    return ndcg_at_k(ranked, qrels, 10)


def grouped_folds(relevant: Sequence[set[str]], k: int) -> list[list[int]]:
    """``k`` folds of query indices in which no held-out query shares a relevant document with
    a training query.

    SciFact's claims often cite the same abstracts (809 train claims fall into 490 such groups).
    Folds of shuffled queries then score a model on documents it was trained to find, which
    rewards anything that learns the collection rather than the task: a query-side adapter
    cross-validated at +0.15 that way and +0.007 grouped. Groups go, largest first, to the
    fold with the fewest queries so far.
    """
    parent = list(range(len(relevant)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, docs in enumerate(relevant):
        for d in docs:
            if d in first:
                parent[root(i)] = root(first[d])
            else:
                first[d] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(relevant)):
        groups.setdefault(root(i), []).append(i)
    folds: list[list[int]] = [[] for _ in range(k)]
    for members in sorted(groups.values(), key=lambda g: (-len(g), g[0])):
        min(folds, key=len).extend(members)
    return [sorted(f) for f in folds]


def main(argv: Sequence[str] | None = None) -> int:
    import lightgbm as lgb  # training-only dependency

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument(
        "--out", type=Path, help="model file (default: the one the encoder's search loads)"
    )
    ap.add_argument(
        "--folds",
        choices=("grouped", "queries"),
        default="grouped",
        help="cross-validation folds: queries that share a relevant document kept together "
        "(default), or queries shuffled alone",
    )
    args = ap.parse_args(argv)
    if args.split == "test":
        raise SystemExit("refusing to train on the test split")
    dataset = load_dataset(args.dataset, args.split)
    data_dir = args.data_dir or default_data_dir(dataset.name, dataset.corpus)  # relevance.py's
    settings = Settings(data_dir=data_dir, rerank=False)
    args.out = args.out or reranking.model_path(settings.encoder)
    print(f"encoder {settings.encoder} -> {args.out}")
    catalog = Catalog(settings)
    cmap = ingest_corpus(catalog, dataset)
    by_id, _ = cmap.paper_map(catalog)
    with catalog.store.session() as s:
        from sqlalchemy import select

        from papersift.store.schema import Paper

        num_of = dict(s.execute(select(Paper.id, Paper.num)).all())
    paper_map = {num_of[pid]: ids for pid, ids in by_id.items()}

    rows: list[tuple[str, list[int], np.ndarray, np.ndarray]] = []
    t0 = time.perf_counter()
    for qid, judged in dataset.qrels.items():
        text = dataset.queries.get(qid)
        got = query_rows(catalog, text) if text else None
        if got is None:
            continue
        head, x = got
        y = np.array(
            [max([judged.get(c, 0) for c in paper_map.get(n, [])] or [0]) for n in head], float
        )
        rows.append((qid, head, x, y))
    catalog.close()
    print(f"{len(rows)} queries, features in {time.perf_counter() - t0:.1f} s")

    def fit(part: list[int], leaves: int, lr: float, rounds: int) -> object:
        x = np.vstack([rows[i][2] for i in part])
        y = np.concatenate([rows[i][3] for i in part])
        params = {
            "objective": "lambdarank",
            "num_leaves": leaves,
            "learning_rate": lr,
            "min_data_in_leaf": 50,
            "lambdarank_truncation_level": 20,
            "verbose": -1,
            "seed": 0,
            "deterministic": True,
            "num_threads": 1,
        }
        data = lgb.Dataset(x, y, group=[len(rows[i][1]) for i in part])
        return lgb.train(params, data, rounds)

    def ndcg_rows(idx: list[int], score: object) -> float:
        out = []
        for i in idx:
            qid, head, x, _ = rows[i]
            s = np.asarray(score(x))  # type: ignore[operator]
            order = [head[j] for j in np.argsort(-s, kind="stable")]
            out.append(ndcg_of(order, dataset.qrels[qid], paper_map))
        return mean(out)

    base = ndcg_rows(list(range(len(rows))), lambda x: -x[:, 3])
    print(f"fused order (no rerank): nDCG@10 {base:.4f}")
    if args.folds == "grouped":
        folds = grouped_folds([set(dataset.qrels[r[0]]) for r in rows], FOLDS)
    else:
        perm = np.random.default_rng(0).permutation(len(rows))
        folds = [sorted(perm[k::FOLDS].tolist()) for k in range(FOLDS)]
    print(f"{args.folds} folds of {[len(f) for f in folds]} queries")
    results: dict[tuple[int, float, int], float] = {}
    for leaves, lr in GRID:
        per_round: dict[int, list[float]] = {r: [] for r in ROUNDS}
        for k in range(FOLDS):
            held = folds[k]
            train = [i for j, f in enumerate(folds) if j != k for i in f]
            model = fit(train, leaves, lr, max(ROUNDS))
            for r in ROUNDS:
                per_round[r].append(
                    ndcg_rows(held, lambda x, m=model, r=r: m.predict(x, num_iteration=r))
                    * len(held)
                )
        for r in ROUNDS:
            results[(leaves, lr, r)] = sum(per_round[r]) / len(rows)
            print(f"leaves {leaves} lr {lr} rounds {r}: CV nDCG@10 {results[(leaves, lr, r)]:.4f}")
    (leaves, lr, rounds), cv = max(results.items(), key=lambda kv: kv[1])
    print(f"chosen: leaves {leaves} lr {lr} rounds {rounds} (CV {cv:.4f})")
    final = fit(list(range(len(rows))), leaves, lr, rounds)
    trees, depth = to_arrays(final)
    model = {
        "features": list(reranking.FEATURES),
        "depth": depth,
        "trained_on": f"{dataset.name} {args.split} ({len(rows)} queries, fused top "
        f"{reranking.RERANK_DEPTH})",
        "search_settings": {
            k: getattr(catalog.settings, k)
            for k in ("encoder", "fusion_depth", "keyword_weight", "prf_docs", "prf_dense_beta")
        },
        "params": {
            "objective": "lambdarank",
            "num_leaves": leaves,
            "learning_rate": lr,
            "rounds": rounds,
            "min_data_in_leaf": 50,
        },
        "cv_ndcg@10": round(cv, 4),
        "cv_folds": args.folds,
        "no_rerank_ndcg@10": round(base, 4),
        "lightgbm": lgb.__version__,
        "date": date.today().isoformat(),
        "trees": trees,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    check = reranking.Trees.from_json(json.loads(args.out.read_text()))
    x_all = np.vstack([r[2] for r in rows])
    gap = float(np.abs(check.predict(x_all) - final.predict(x_all)).max())  # type: ignore[attr-defined]
    print(f"wrote {args.out} ({len(trees)} trees); numpy vs LightGBM max diff {gap:.2e}")
    return 0 if gap < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
