#!/usr/bin/env python3
"""Distil the static CPU encoder (``static-minilm``) from the shipped int8 ONNX MiniLM.

Usage::

    .venv/bin/python scripts/distill_static.py [--dims 256] [--context 6000] [--sif 3e-3]
        [--teacher 20000 --lam 0.1 --exclude benchmarks/.cache/arxiv-titles/corpus.jsonl]
        [--weights arxiv|zipf|none] [--out papersift/embed/models/static-minilm/embeddings.npy]

model2vec's recipe in a few numpy steps, run in papersift's own venv with the ``bench`` extra
(scipy for the fit; no torch, no hub):

1. every token of the 30,522-token WordPiece vocabulary goes through the shipped encoder as
   ``[SEP] token [CLS]`` (model2vec's order) and the three output vectors are averaged;
2. (``--context N``) each token's vector is replaced by its average output *in context* over N
   real arXiv abstracts, shrunk towards the isolated vector where the token was seen rarely;
   (``--teacher N --lam L``) the vectors are then fitted so that the mean token vector of each
   of N other arXiv abstracts lands on MiniLM's own vector of it (ridge regression towards the
   step-2 vectors with weight L; the teacher vectors are the slow part, ~20 abstracts/s here,
   cached in chunks); ``--exclude`` keeps benchmark papers out of the fit;
3. the table is centred and reduced by PCA to ``--dims`` dimensions;
4. each row is scaled by a smoothed inverse frequency ``a / (a + p(token))`` (SIF). model2vec
   estimates ``p`` from the token's rank by Zipf's law, which assumes a frequency-sorted
   vocabulary; BERT's is not, so by default ``p`` is counted on real arXiv abstracts
   (``shared/data/arxiv-large``; ``--weights zipf`` gives model2vec's estimate);
5. special tokens get zero rows; the common direction of all abstracts is removed from every
   row; the table is written as float16 ``.npy``.

It prints a check that needs no benchmark qrels: on the demo corpus (whose MiniLM vectors ship
with papersift), how many of each paper's 10 nearest neighbours under MiniLM the static model
also finds. The token vectors and counts are cached in ``.cache/distill`` between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from papersift.embed.modelfiles import minilm_tokenizer
from papersift.embed.onnx_minilm import OnnxMiniLM
from papersift.embed.static import DIM, MODEL_DIR, TABLE_FILE, WordPieceCache, sum_rows

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "distill"
ARXIV_LARGE = ROOT.parent / "shared" / "data" / "arxiv-large"
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def token_vectors(encoder: OnnxMiniLM, batch: int = 2048) -> np.ndarray:
    """(vocab, 384): the encoder's mean output over ``[SEP] t [CLS]`` for every token t."""
    path = CACHE / "token-vectors.npy"
    if path.is_file():
        return np.load(path)  # type: ignore[no-any-return]
    vocab = encoder.tokenizer.get_vocab_size()
    sep, cls = encoder.tokenizer.token_to_id("[SEP]"), encoder.tokenizer.token_to_id("[CLS]")
    out = np.zeros((vocab, encoder.dim), dtype=np.float32)
    t = time.perf_counter()
    for start in range(0, vocab, batch):
        ids = np.arange(start, min(start + batch, vocab), dtype=np.int64)
        seq = np.stack([np.full_like(ids, sep), ids, np.full_like(ids, cls)], axis=1)
        feeds = {"input_ids": seq, "attention_mask": np.ones_like(seq)}
        if "token_type_ids" in {i.name for i in encoder.session.get_inputs()}:
            feeds["token_type_ids"] = np.zeros_like(seq)
        out[ids] = encoder.session.run(None, feeds)[0].mean(axis=1)
    print(f"token vectors: {vocab} tokens through the encoder in {time.perf_counter() - t:.0f}s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def context_vectors(encoder: OnnxMiniLM, n_texts: int, max_tokens: int = 128) -> tuple:  # type: ignore[type-arg]
    """Per token, the sum and count of its contextual output vectors in real arXiv abstracts.

    A static vector that is the token's average output *in context* makes the sum over a text's
    tokens approximate the encoder's own mean pooling, which the ``[SEP] t [CLS]`` pass alone
    does poorly. The abstracts are the first ``n_texts`` of arxiv-large, cut to ``max_tokens``.
    """
    path = CACHE / f"context-{n_texts}-{max_tokens}.npz"
    if path.is_file():
        data = np.load(path)
        return data["sums"], data["counts"]
    vocab = encoder.tokenizer.get_vocab_size()
    sums = np.zeros((vocab, encoder.dim), dtype=np.float64)
    counts = np.zeros(vocab, dtype=np.int64)
    tok = minilm_tokenizer(max_tokens)
    specials = [tok.token_to_id(t) for t in SPECIAL]
    texts = list(arxiv_abstracts(n_texts))
    t = time.perf_counter()
    for start in range(0, len(texts), 256):
        encs = tok.encode_batch_fast(texts[start : start + 256])
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        for r, e in enumerate(encs):
            ids[r, : len(e.ids)] = e.ids
        mask = ids != 0
        for sub in range(0, len(ids), 32):
            part, m = ids[sub : sub + 32], mask[sub : sub + 32]
            feeds = {"input_ids": part, "attention_mask": m.astype(np.int64)}
            feeds["token_type_ids"] = np.zeros_like(part)
            hidden = encoder.session.run(None, feeds)[0]
            keep = m & ~np.isin(part, specials)
            np.add.at(sums, part[keep], hidden[keep])
            counts += np.bincount(part[keep], minlength=vocab)
        done = min(start + 256, len(texts))
        rate = done / (time.perf_counter() - t)
        print(f"  context: {done}/{len(texts)} abstracts, {rate:.1f}/s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, sums=sums, counts=counts)
    return sums, counts


def arxiv_abstracts(limit: int) -> Iterator[str]:
    """Titles + abstracts from the arxiv-large listing tarballs (distinct ids, first seen)."""
    return (text for _, text in arxiv_records(limit))


def arxiv_records(limit: int) -> Iterator[tuple[str, str]]:
    """``(arxiv id, title + abstract)`` of the first ``limit`` distinct papers of arxiv-large."""
    seen: set[str] = set()
    for tarball in sorted(ARXIV_LARGE.glob("*.tar.gz")):
        with tarfile.open(tarball) as tar:
            for member in tar:
                if not member.name.endswith(".jsonl"):
                    continue
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    pid = str(rec.get("id", "")).split("v")[0]
                    if not pid or pid in seen or not rec.get("summary"):
                        continue
                    seen.add(pid)
                    yield pid, " ".join(f"{rec.get('title', '')}. {rec['summary']}".split())
                    if len(seen) >= limit:
                        return


def teacher_vectors(
    encoder: OnnxMiniLM, n_texts: int, exclude: set[str], chunk: int = 1000
) -> tuple[list[str], np.ndarray]:
    """MiniLM's own vectors of ``n_texts`` arXiv abstracts (papers in ``exclude`` skipped).

    The slow step (~20 abstracts/s on two cores), so each chunk is saved as it is done and a
    re-run goes on where it stopped.
    """
    records = [(pid, text) for pid, text in arxiv_records(2 * n_texts) if pid not in exclude]
    records = records[:n_texts]
    out = CACHE / f"teacher-{hashlib.sha256(repr(sorted(exclude)).encode()).hexdigest()[:8]}"
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    t = time.perf_counter()
    for start in range(0, len(records), chunk):
        path = out / f"chunk-{start // chunk:04d}.npz"
        ids, texts = zip(*records[start : start + chunk], strict=True)
        saved = np.load(path) if path.is_file() else None
        if saved is not None and list(saved["ids"]) == list(ids):
            parts.append(saved["vectors"])
            continue
        vectors = encoder.encode(list(texts)).astype(np.float32)
        np.savez(path, ids=np.array(ids), vectors=vectors)
        parts.append(vectors)
        print(f"  teacher: {start + len(ids)}/{len(records)} abstracts embedded, "
              f"{len(ids) / (time.perf_counter() - t):.1f}/s", flush=True)  # fmt: skip
        t = time.perf_counter()
    return [text for _, text in records], np.concatenate(parts)


def fit_to_teacher(
    vectors: np.ndarray, texts: list[str], teacher: np.ndarray, lam: float, iters: int = 40
) -> np.ndarray:
    """The token vectors moved so that a text's mean token vector lands on MiniLM's vector of
    the text (tokenlearn's idea, as a ridge regression solved by conjugate gradients).

    The isolated and in-context vectors only say what each token means alone; fitted to whole
    abstracts, the table learns how much each token counts and what it means next to the
    others. ``lam`` pulls every row towards its starting vector, so tokens that are rare in the
    fitted abstracts keep what they had. Solves ``(A'A + lam I) X = A' T + lam X0`` for all 384
    columns at once, ``A`` the texts' normalised token counts and ``T`` the teacher's unit
    vectors scaled to the typical length of a mean token vector.
    """
    from scipy import sparse

    units = WordPieceCache(minilm_tokenizer(512), 512)
    ids, lengths = units.encode(texts)
    rows = np.repeat(np.arange(len(texts)), lengths)
    a = sparse.csr_matrix(
        (1.0 / np.repeat(np.maximum(lengths, 1), lengths), (rows, ids)),
        shape=(len(texts), len(vectors)),
    )
    at = a.T.tocsr()
    x0 = vectors.astype(np.float64)
    scale = float(np.median(np.linalg.norm(a @ x0, axis=1)))
    b = at @ (teacher.astype(np.float64) * scale) + lam * x0
    x = x0.copy()
    r = b - (at @ (a @ x) + lam * x)
    p, rr = r.copy(), float(np.sum(r * r))
    for _ in range(iters):
        ap = at @ (a @ p) + lam * p
        alpha = rr / float(np.sum(p * ap))
        x += alpha * p
        r -= alpha * ap
        rr, rr_old = float(np.sum(r * r)), rr
        p = r + (rr / rr_old) * p
    pred = a @ x
    pred /= np.clip(np.linalg.norm(pred, axis=1, keepdims=True), 1e-12, None)
    fit = float(np.mean(np.sum(pred * teacher, axis=1)))
    print(f"fitted to {len(texts)} teacher vectors: mean cosine {fit:.3f} (lam {lam})")
    return x.astype(np.float32)


def token_counts(vocab: int, limit: int) -> tuple[np.ndarray, int]:
    """Occurrences of every token in up to ``limit`` arXiv abstracts, and how many were read."""
    path = CACHE / f"token-counts-{limit}.npz"
    if path.is_file():
        data = np.load(path)
        return data["counts"], int(data["docs"])
    tok = minilm_tokenizer(100_000)
    counts = np.zeros(vocab, dtype=np.int64)
    docs, batch = 0, []
    for text in arxiv_abstracts(limit):
        batch.append(text)
        if len(batch) == 4096:
            counts += np.bincount(
                [i for e in tok.encode_batch_fast(batch, add_special_tokens=False) for i in e.ids],
                minlength=vocab,
            )
            docs += len(batch)
            batch = []
    if batch:
        counts += np.bincount(
            [i for e in tok.encode_batch_fast(batch, add_special_tokens=False) for i in e.ids],
            minlength=vocab,
        )
        docs += len(batch)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, counts=counts, docs=docs)
    return counts, docs


def mean_direction(table: np.ndarray, n_texts: int) -> np.ndarray:
    """Unit vector of the mean static embedding of ``n_texts`` arXiv abstracts.

    Sums of many token vectors share one large common direction (their mean has norm ~0.8:
    every abstract looks alike); removing it from every row removes it from every text's sum,
    since the sum is linear, and spreads texts apart (model2vec-style models do the same with
    "all-but-the-top" post-processing).
    """
    texts = list(arxiv_abstracts(n_texts))
    ids, lengths = WordPieceCache(minilm_tokenizer(512), 512).encode(texts)
    docs = sum_rows(table, ids, lengths)
    docs /= np.clip(np.linalg.norm(docs, axis=1, keepdims=True), 1e-12, None)
    mu = docs.mean(axis=0)
    print(f"mean direction of {len(texts)} abstracts: norm {np.linalg.norm(mu):.2f}, removed")
    return mu / np.linalg.norm(mu)  # type: ignore[no-any-return]


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, float]:
    """Centred PCA via the covariance's eigenvectors; returns (projected, variance kept)."""
    xc = x - x.mean(axis=0)
    vals, vecs = np.linalg.eigh((xc.T @ xc) / (len(x) - 1))
    vals, vecs = vals[::-1], vecs[:, ::-1]
    return (xc @ vecs[:, :dims]).astype(np.float32), float(vals[:dims].sum() / vals.sum())


def neighbour_overlap(table: np.ndarray, k: int = 10) -> float:
    """Mean share of each demo paper's k nearest MiniLM neighbours the static model also finds."""
    from papersift.demo import VECTORS, demo_records
    from papersift.ids import paper_id
    from papersift.ingest.normalize import clean_record
    from papersift.store.papers import embed_text

    data = np.load(VECTORS, allow_pickle=False)
    by_id = {paper_id(r): clean_record(r) for r in demo_records()}
    keep = [i for i, pid in enumerate(data["ids"]) if str(pid) in by_id]
    papers = [by_id[str(data["ids"][i])] for i in keep]
    texts = [embed_text(p.title, p.abstract) for p in papers]
    teacher = data["vectors"][keep].astype(np.float32)
    ids, lengths = WordPieceCache(minilm_tokenizer(512), 512).encode(texts)
    student = sum_rows(table.astype(np.float32), ids, lengths)
    student /= np.clip(np.linalg.norm(student, axis=1, keepdims=True), 1e-12, None)
    teacher /= np.linalg.norm(teacher, axis=1, keepdims=True)
    overlap = []
    for sims_t, sims_s, i in zip(
        teacher @ teacher.T, student @ student.T, range(len(texts)), strict=True
    ):
        sims_t[i] = sims_s[i] = -2
        top_t = set(np.argpartition(-sims_t, k)[:k])
        top_s = set(np.argpartition(-sims_s, k)[:k])
        overlap.append(len(top_t & top_s) / k)
    return float(np.mean(overlap))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dims", type=int, default=DIM)
    ap.add_argument("--sif", type=float, default=3e-3, help="SIF coefficient a in a/(a+p)")
    ap.add_argument("--weights", choices=["arxiv", "zipf", "none"], default="arxiv")
    ap.add_argument("--abstracts", type=int, default=100_000, help="arXiv abstracts to count")
    ap.add_argument("--context", type=int, default=6000, help="arXiv abstracts run in context")
    ap.add_argument("--shrink", type=float, default=8.0, help="pseudo-count of the isolated vector")
    ap.add_argument("--center", type=int, default=10_000, help="abstracts for the mean (0: off)")
    ap.add_argument("--teacher", type=int, default=20_000, help="abstracts to fit to (0: off)")
    ap.add_argument("--lam", type=float, default=0.1, help="pull towards the unfitted vectors")
    ap.add_argument(
        "--exclude",
        type=Path,
        nargs="*",
        default=[],
        help="BEIR corpus.jsonl files whose papers are not fitted to (benchmark sets)",
    )
    ap.add_argument("--out", type=Path, default=MODEL_DIR / TABLE_FILE)
    args = ap.parse_args()

    encoder = OnnxMiniLM()
    vocab = encoder.tokenizer.get_vocab_size()
    vectors = token_vectors(encoder)
    if args.context:
        sums, seen = context_vectors(encoder, args.context)
        # Shrink each token's in-context mean towards its isolated vector by its evidence.
        k = args.shrink
        vectors = ((sums + k * vectors) / (seen + k)[:, None]).astype(np.float32)
        print(f"in-context vectors for {(seen > 0).sum()} tokens from {args.context} abstracts")
    if args.teacher:
        exclude = set()
        for path in args.exclude:
            exclude |= {json.loads(line)["_id"] for line in path.open()}
        texts, teacher = teacher_vectors(encoder, args.teacher, exclude)
        vectors = fit_to_teacher(vectors, texts, teacher, args.lam)
    table, kept = pca(vectors, args.dims)
    print(f"PCA 384 -> {args.dims}: {kept:.3f} of the variance kept")
    if args.weights == "arxiv":
        counts, docs = token_counts(vocab, args.abstracts)
        p = (counts + 1) / (counts.sum() + vocab)  # add-one smoothing: unseen tokens stay usable
        print(f"token frequencies from {docs} arXiv abstracts ({counts.sum()} tokens)")
    elif args.weights == "zipf":
        inv_rank = 1 / np.arange(2, vocab + 2)
        p = inv_rank / inv_rank.sum()
    if args.weights != "none":
        table *= (args.sif / (args.sif + p))[:, None].astype(np.float32)
    for token in SPECIAL:
        table[encoder.tokenizer.token_to_id(token)] = 0
    if args.center:
        mu = mean_direction(table, args.center)
        table -= np.outer(table @ mu, mu).astype(np.float32)
    table16 = table.astype(np.float16)
    print(f"demo corpus: {neighbour_overlap(table16):.3f} of MiniLM's 10 nearest neighbours kept")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, table16)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"wrote {args.out} {table16.shape} float16, {args.out.stat().st_size / 1e6:.1f} MB, "
        f"sha256 {digest}"
    )


if __name__ == "__main__":
    main()
