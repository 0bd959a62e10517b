"""Recommendation benchmark: papersift's recommender against an arxiv-sanity-lite-style SVM.

Usage::

    python benchmarks/recommend.py [--users 200] [--seed 1] [--json OUT] [--data-dir DIR]
        [--scale 100000] [--blas-threads 1]

Needs scikit-learn (and matplotlib for the plot) besides papersift: ``pip install -e '.[bench]'``.

The question (GitHub issue 3, section 5): given what a user saved, does papersift put the papers
they will save next in its top 20, and is it at least as good as arxiv-sanity-lite's per-request
linear SVM on tf-idf while answering far faster?

**The corpus** is the bundled demo (real arXiv papers with shipped MiniLM vectors), loaded with
:func:`papersift.demo.load_demo` into a throwaway data dir, so the store, the vector index and
the recommender are exactly what `papersift demo` serves.

**Synthetic users.** There are no real libraries to replay, so users are drawn from the corpus's
own metadata. Each has 1-3 interests; an interest is either

- a *topic*: a hand-written keyword pattern (``"segment"``, ``"point cloud|3d|lidar"``, ...)
  that a paper's title matches, or that its abstract matches twice, narrowed to one arXiv
  category drawn from the topic's own category mix (so "detection" means object detection in
  cs.CV for one user, anomaly detection in cs.LG for another); a paper with no category (many of
  the demo's papers come from listings without one) is not excluded by the category; or
- a *category*: a small arXiv category or archive (cs.RO, cs.CL, hep, cond-mat, ...), the
  occasional physicist's or roboticist's second interest.

A user saves 10-40 papers drawn uniformly from their interests' papers (split by random weights,
at most 60% of any one interest), plus 0-2 random papers from anywhere (noise), each interest
under its own tag. Then 20-25% of the saves, chosen at random, are held out: the account and the
remaining saves are created through papersift's own ``accounts.sign_up`` and ``library.save``,
and a method scores by how many held-out papers it puts in its top 20 (recall@20, nDCG@20).

Why this is not circular: the ground truth never looks at the MiniLM vectors papersift ranks
with; it comes from arXiv categories and keyword patterns. Keyword patterns are lexical, which if
anything favours the tf-idf baseline, so results are also reported per kind of interest (topic
vs category). The ``oracle`` row ranks the unseen papers of the user's interests first, in random
order: the recall a perfect topic model would expect, since the held-out papers are a random few
of many equally on-topic ones.

**Methods**, all over the same users, saves and held-out papers:

- ``papersift``: :func:`papersift.service.recommending.recommend`, end to end (the model fit, the
  HNSW query, the keyword profile and its BM25 query, the neighbour score, the blend, the
  cards); latency is the wall time of that call.
- ``asl-svm``: the idea of arxiv-sanity-lite's ``svm_rank``, reimplemented with scikit-learn: its
  ``compute.py`` tf-idf settings (word 1-2 grams, 20k features, sublinear tf, min_df 5,
  max_df 0.1, English stop words, over title + abstract + authors) and a
  ``LinearSVC(class_weight="balanced", C=0.01)`` fitted per request on the whole corpus with the
  saves as positives. Latency is fit + score + sort (the vectoriser is fitted once, offline, as
  arxiv-sanity-lite does), so it excludes fetching papers, which the papersift row pays for.
- ``centroid``: cosine to the mean of the saved papers' MiniLM vectors, exact.
- ``papersift-emb``: the same call with the keyword leg switched off (``recommend_terms`` 0):
  the embedding model alone, to show what each leg adds.
- ``oracle``: see above; a ceiling, not a method.

**Tuned on other users.** The keyword leg's settings (``recommend_terms`` 15, its profile's
``min_df`` 3, ``recommend_keyword_weight`` 0.4) were chosen on the users drawn with seed 0, and
``recommend_neighbour_weight`` 0.3 on seeds 0 and 2; the default seed 1 draws other users (and
held-out papers) to report on, and seeds 3 and up were never looked at while tuning.

``vs asl-svm`` is the paired difference in mean recall@20 (same users, same held-out papers) with
a 95% bootstrap interval over requests. Each user is one ``user`` request (the whole library)
and each tag with a held-out paper one ``tag`` request. ``r@20 topic``/``r@20 cat``: recall over
the requests that involve a topic / a category interest.

``--blas-threads N`` caps numpy's BLAS threads during the evaluation, as OPENBLAS_NUM_THREADS
would in a deployment; recall does not change, latency can (a 385x385 solve on a busy 2-core
machine is slow with two BLAS threads).

``--scale N`` also times arxiv-sanity-lite's per-request refit at arXiv scale: the tf-idf of the
first N real arXiv records of ``../shared/data/arxiv-large`` (read through
``benchmarks/scale.py``'s cache), positives 25 papers of one topic. papersift's cost there is the
closed-form fit (independent of N) plus one HNSW query, which ``benchmarks/scale.py`` measures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from metrics import mean, ndcg_at_k, percentile, recall_at_k
from recommend_users import TOPICS, Corpus, UserSpec, create_accounts, load_corpus, make_users
from relevance import machine_info
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm

from papersift.config import Settings
from papersift.demo import load_demo
from papersift.service import library, recommending
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog

BENCH_DIR = Path(__file__).resolve().parent
K = 20


def top_k(scores: np.ndarray, exclude: set[int], k: int = K) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[: k + len(exclude)] if int(i) not in exclude][:k]


def asl_vectorizer() -> TfidfVectorizer:
    """arxiv-sanity-lite's ``compute.py`` settings."""
    return TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20_000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )


class AslSvm:
    """arxiv-sanity-lite's ``svm_rank``, reimplemented: refit a linear SVM per request."""

    def __init__(self, texts: Sequence[str], c: float = 0.01) -> None:
        self.vectorizer = asl_vectorizer()
        self.x = self.vectorizer.fit_transform(texts).astype(np.float32)
        self.c = c

    def scores(self, positives: list[int]) -> np.ndarray:
        y = np.zeros(self.x.shape[0], dtype=np.float32)
        y[positives] = 1.0
        clf = LinearSVC(class_weight="balanced", max_iter=10_000, tol=1e-6, C=self.c)
        clf.fit(self.x, y)
        return np.asarray(clf.decision_function(self.x))

    def rank(self, positives: list[int], exclude: set[int]) -> list[int]:
        return top_k(self.scores(positives), exclude)


def oracle(pool: set[int], exclude: set[int], rng: np.random.Generator) -> list[int]:
    """The unseen papers of the interests, in random order (a ceiling, not a method)."""
    cands = sorted(i for i in pool if i not in exclude)
    rng.shuffle(cands)
    return cands[:K]


# --- scoring ----------------------------------------------------------------------------------


@dataclass
class Result:
    method: str
    scope: str  # "user" or "tag"
    recall: list[float] = field(default_factory=list)  # one per request, same order per method
    ndcg: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    on_topic: list[float] = field(default_factory=list)
    kinds: list[tuple[str, ...]] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    vs_baseline: tuple[float, float, float] | None = None  # mean difference, 95% CI

    def add(
        self,
        ranked: Sequence[int],
        test: Sequence[int],
        pool: set[int],
        kinds: Sequence[str],
        ms: float | None,
    ) -> None:
        ids = [str(i) for i in ranked[:K]]
        qrels = {str(i): 1 for i in test}
        self.recall.append(recall_at_k(ids, qrels, K))
        self.ndcg.append(ndcg_at_k(ids, qrels, K))
        self.precision.append(sum(1 for i in ranked[:K] if str(i) in qrels) / K)
        self.on_topic.append(sum(1 for i in ranked[:K] if i in pool) / K)
        self.kinds.append(tuple(sorted(set(kinds))))
        if ms is not None:
            self.latency_ms.append(ms)

    def recall_of(self, kind: str) -> float:
        return mean(r for r, ks in zip(self.recall, self.kinds, strict=True) if kind in ks)

    def row(self) -> dict[str, object]:
        row: dict[str, object] = {
            "method": self.method,
            "scope": self.scope,
            f"recall@{K}": round(mean(self.recall), 4),
            f"ndcg@{K}": round(mean(self.ndcg), 4),
            f"precision@{K}": round(mean(self.precision), 4),
            f"on_topic@{K}": round(mean(self.on_topic), 4),
            f"recall@{K}_topic": round(self.recall_of("topic"), 4),
            f"recall@{K}_category": round(self.recall_of("category"), 4),
            "p50_ms": round(percentile(self.latency_ms, 50), 2) if self.latency_ms else None,
            "p95_ms": round(percentile(self.latency_ms, 95), 2) if self.latency_ms else None,
            "requests": len(self.recall),
        }
        if self.vs_baseline is not None:
            row[f"recall@{K}_vs_asl_svm"] = [round(x, 4) for x in self.vs_baseline]
        return row


def paired_difference(
    a: Sequence[float], b: Sequence[float], rng: np.random.Generator, rounds: int = 2000
) -> tuple[float, float, float]:
    """Mean of a - b over paired requests, with a 95% bootstrap interval."""
    d = np.asarray(a) - np.asarray(b)
    boots = d[rng.integers(0, len(d), size=(rounds, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


@contextmanager
def settings_of(catalog: Catalog, **changes: object) -> Iterator[None]:
    """Run with some settings changed (a variant of papersift on the same store and users)."""
    saved = catalog.settings
    catalog.settings = saved.model_copy(update=changes)
    try:
        yield
    finally:
        catalog.settings = saved


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


@dataclass
class Request:
    scope: str
    tag: str | None
    train: list[int]
    test: list[int]
    pool: set[int]
    kinds: list[str]


def requests_of(spec: UserSpec) -> list[Request]:
    """The user's whole library, then each of their tags that has a held-out paper."""
    out = [
        Request(
            "user", None, spec.train, spec.test, spec.pool(), [it.kind for it in spec.interests]
        )
    ]
    for it in spec.interests:
        slug = library.slugify(it.name)
        train, test = spec.tags[slug]
        if train and test:
            out.append(Request("tag", slug, train, test, {int(i) for i in it.pool}, [it.kind]))
    return out


def evaluate(
    catalog: Catalog,
    corpus: Corpus,
    users: Sequence[UserSpec],
    principals: dict[str, Principal],
    svm: AslSvm,
    seed: int,
) -> list[Result]:
    results: dict[tuple[str, str], Result] = {}
    id_row = {pid: i for i, pid in enumerate(corpus.ids)}
    vectors = corpus.vectors
    rng = np.random.default_rng(seed + 1)

    def service(who: Principal, tag: str | None, k: int) -> list[int]:
        out = recommending.recommend(catalog, who, tag=tag, k=k)
        return [id_row[r.card.paper.id] for r in out.items]

    def add(method: str, rq: Request, ranked: list[int], ms: float | None) -> None:
        key = (method, rq.scope)
        results.setdefault(key, Result(method, rq.scope))
        results[key].add(ranked, rq.test, rq.pool, rq.kinds, ms)

    # Warm-up outside the clock: the background sample and index readers load on first use.
    service(principals[users[0].name], None, K)
    for spec in tqdm(users, desc="users", unit="user", dynamic_ncols=True):
        who = principals[spec.name]
        exclude = set(spec.train)  # every method skips everything the user saved
        for rq in requests_of(spec):
            t0 = time.perf_counter()
            ranked = service(who, rq.tag, K)
            ms = ms_since(t0)
            add("papersift", rq, ranked, ms)

            with settings_of(catalog, recommend_terms=0):
                t0 = time.perf_counter()
                ranked = service(who, rq.tag, K)
                add("papersift-emb", rq, ranked, ms_since(t0))

            t0 = time.perf_counter()
            ranked = svm.rank(rq.train, exclude)
            add("asl-svm", rq, ranked, ms_since(t0))

            t0 = time.perf_counter()
            ranked = top_k(vectors @ vectors[rq.train].mean(axis=0), exclude)
            add("centroid", rq, ranked, ms_since(t0))

            add("oracle", rq, oracle(rq.pool, exclude, rng), None)
    out = list(results.values())
    for r in out:
        base = results[("asl-svm", r.scope)]
        if r.method not in ("asl-svm", "oracle"):
            r.vs_baseline = paired_difference(r.recall, base.recall, rng)
    return out


# --- reporting --------------------------------------------------------------------------------


def format_table(results: Sequence[Result]) -> str:
    header = (
        f"{'method':<13} | {'scope':<5} | {'recall@20':>9} | {'vs asl-svm [95% CI]':>24} | "
        f"{'nDCG@20':>7} | {'P@20':>6} | {'on-topic':>8} | {'r@20 topic':>10} | "
        f"{'r@20 cat':>8} | {'p50 ms':>7} | {'p95 ms':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lat = (
            f"{percentile(r.latency_ms, 50):>7.1f} | {percentile(r.latency_ms, 95):>7.1f}"
            if r.latency_ms
            else f"{'-':>7} | {'-':>7}"
        )
        vs = (
            f"{r.vs_baseline[0]:+.4f} [{r.vs_baseline[1]:+.3f}, {r.vs_baseline[2]:+.3f}]"
            if r.vs_baseline
            else "-"
        )
        lines.append(
            f"{r.method:<13} | {r.scope:<5} | {mean(r.recall):>9.4f} | {vs:>24} | "
            f"{mean(r.ndcg):>7.4f} | {mean(r.precision):>6.4f} | {mean(r.on_topic):>8.4f} | "
            f"{r.recall_of('topic'):>10.4f} | {r.recall_of('category'):>8.4f} | {lat}"
        )
    return "\n".join(lines)


def plot(results: Sequence[Result], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    methods = list(dict.fromkeys(r.method for r in results))
    by = {(r.method, r.scope): r for r in results}
    fig, ax = plt.subplots(figsize=(8, 4))
    y = np.arange(len(methods))
    for offset, scope, color in ((-0.2, "user", "#4c72b0"), (0.2, "tag", "#dd8452")):
        vals = [mean(by[(m, scope)].recall) if (m, scope) in by else 0.0 for m in methods]
        ax.barh(y + offset, vals, height=0.4, color=color, label=f"per {scope}")
        for i, m in enumerate(methods):
            r = by.get((m, scope))
            if r is None:
                continue
            label = f" {mean(r.recall):.3f}"
            if r.latency_ms:
                label += f"  (p50 {percentile(r.latency_ms, 50):.0f} ms)"
            ax.text(mean(r.recall), i + offset, label, va="center", fontsize=7)
    ax.set_yticks(y, methods)
    ax.invert_yaxis()
    ax.set_xlabel(f"recall@{K} of held-out saves")
    ax.set_xlim(0, max(mean(r.recall) for r in results) * 1.45)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def describe_users(users: Sequence[UserSpec]) -> str:
    n_int = Counter(len(u.interests) for u in users)
    kinds = Counter(it.kind for u in users for it in u.interests)
    saves = [len(u.train) + len(u.test) for u in users]
    return (
        f"users: {len(users)}; interests per user {dict(sorted(n_int.items()))}; "
        f"interest kinds {dict(kinds)}; saves {min(saves)}-{max(saves)} "
        f"(mean {mean(saves):.1f}), held out {sum(len(u.test) for u in users)} in all, "
        f"noise saves {sum(u.noise for u in users)}"
    )


def svm_at_scale(n: int, repeats: int = 3) -> dict[str, object]:
    """arxiv-sanity-lite's per-request refit over the first n real arXiv records."""
    from scale import real_records  # the benchmark next door caches the records

    records = real_records()[:n]
    t0 = time.perf_counter()
    svm = AslSvm([" ".join([r["title"], r["abstract"], " ".join(r["authors"])]) for r in records])
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    secs: list[float] = []
    for pattern in list(TOPICS.values())[:repeats]:
        rx = re.compile(pattern, re.IGNORECASE)
        rows = [i for i, r in enumerate(records) if rx.search(r["title"])]
        pos = [int(i) for i in rng.choice(rows, size=min(25, len(rows)), replace=False)]
        t0 = time.perf_counter()
        svm.rank(pos, set(pos))
        secs.append(time.perf_counter() - t0)
    return {
        "method": "asl-svm",
        "scope": f"refit at {len(records)} real arXiv papers",
        "features": list(svm.x.shape),
        "tfidf_build_s": round(build_s, 1),
        "p50_ms": round(percentile([s * 1000 for s in secs], 50), 1),
        "all_ms": [round(s * 1000, 1) for s in secs],
        "requests": len(secs),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--users", type=int, default=200, help="synthetic users (default 200)")
    ap.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed for users and held-out papers (default 1; seed 0's users chose the settings)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=BENCH_DIR / "results" / "recommend.json",
        help="result rows (default results/recommend.json; a .png plot goes beside it)",
    )
    ap.add_argument("--data-dir", type=Path, help="build the store here (new or empty dir)")
    ap.add_argument(
        "--scale", type=int, default=0, help="also time asl-svm's refit over N real arXiv papers"
    )
    ap.add_argument(
        "--blas-threads",
        type=int,
        help="cap BLAS threads in this process (like OPENBLAS_NUM_THREADS; default: as shipped)",
    )
    args = ap.parse_args(argv)
    if args.users < 1:
        ap.error("--users must be positive")
    if args.data_dir and args.data_dir.exists() and any(args.data_dir.iterdir()):
        ap.error(f"--data-dir {args.data_dir} is not empty: the users must be new")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"machine: {json.dumps(machine_info())}")
    pools = (f"{p['internal_api']} x{p['num_threads']}" for p in threadpool_info())
    print(f"thread pools: {', '.join(pools)}; --blas-threads {args.blas_threads}")
    with tempfile.TemporaryDirectory(prefix="papersift-recommend-") as tmp:
        catalog = Catalog(Settings(data_dir=args.data_dir or Path(tmp), search_rate_per_minute=0))
        try:
            t0 = time.perf_counter()
            print(f"demo: {load_demo(catalog)} ({time.perf_counter() - t0:.1f} s)")
            corpus = load_corpus(catalog)
            users = make_users(corpus, args.users, np.random.default_rng(args.seed))
            print(describe_users(users))
            t0 = time.perf_counter()
            principals = create_accounts(catalog, corpus, users)
            print(f"accounts and saves through the service: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            svm = AslSvm(corpus.texts)
            print(
                f"asl-svm tf-idf: {svm.x.shape[0]} papers x {svm.x.shape[1]} features "
                f"({time.perf_counter() - t0:.1f} s, offline)"
            )
            t0 = time.perf_counter()
            with threadpool_limits(args.blas_threads):  # None: leave BLAS as it is
                results = evaluate(catalog, corpus, users, principals, svm, args.seed)
            print(f"evaluation: {time.perf_counter() - t0:.1f} s")
        finally:
            catalog.close()

    print()
    print(format_table(results))
    rows = [r.row() | {"blas_threads": args.blas_threads} for r in results]
    if args.scale:
        scaled = svm_at_scale(args.scale)
        print(
            f"\n{scaled['scope']}: asl-svm refit {scaled['all_ms']} ms "
            f"(tf-idf {scaled['features']}, built in {scaled['tfidf_build_s']} s)"
        )
        rows.append(scaled)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")
    png = args.json.with_suffix(".png")
    if plot(results, png):
        print(f"wrote {png}")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
