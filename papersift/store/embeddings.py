"""The embedding cache: one float16 vector per (paper, model), valid while the text is unchanged.

Embedding is the slowest step of indexing (15-30 abstracts/s on 2 CPU cores), so vectors are
computed once, stored, and reused by every rebuild; a changed title/abstract changes the paper's
``text_hash`` and marks its vector stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.orm import Session

from papersift.store.schema import Embedding, Paper


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return (
        np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), dim).astype(np.float32)
    )


def stale_papers(session: Session, model_id: str, *, limit: int) -> list[tuple[int, str, str, str]]:
    """``(num, title, abstract, text_hash)`` of papers with no current vector for this model."""
    q = (
        select(Paper.num, Paper.title, Paper.abstract, Paper.text_hash)
        .outerjoin(
            Embedding, and_(Embedding.paper_num == Paper.num, Embedding.model_id == model_id)
        )
        .where(or_(Embedding.paper_num.is_(None), Embedding.text_hash != Paper.text_hash))
        .order_by(Paper.num)
        .limit(limit)
    )
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(q)]


def count_stale(session: Session, model_id: str) -> int:
    from sqlalchemy import func

    q = (
        select(func.count(Paper.num))
        .outerjoin(
            Embedding, and_(Embedding.paper_num == Paper.num, Embedding.model_id == model_id)
        )
        .where(or_(Embedding.paper_num.is_(None), Embedding.text_hash != Paper.text_hash))
    )
    return int(session.scalar(q) or 0)


def count_vectors(session: Session, model_id: str) -> int:
    from sqlalchemy import func

    q = select(func.count()).select_from(Embedding).where(Embedding.model_id == model_id)
    return int(session.scalar(q) or 0)


def spread_nums(session: Session, model_id: str, n: int = 200) -> list[int]:
    """Up to ``n`` papers with a vector, spread evenly over ``num`` (a cheap sample: two
    look-ups by key, where ORDER BY random() would sort millions of rows)."""
    from sqlalchemy import func

    q = select(func.min(Embedding.paper_num), func.max(Embedding.paper_num))
    lo, hi = session.execute(q.where(Embedding.model_id == model_id)).one()
    if lo is None:
        return []
    wanted = sorted({int(x) for x in np.linspace(lo, hi, num=4 * n)})
    found = select(Embedding.paper_num).where(
        Embedding.model_id == model_id, Embedding.paper_num.in_(wanted)
    )
    return list(session.scalars(found))[:n]


def put_vectors(
    session: Session,
    model_id: str,
    rows: Sequence[tuple[int, str]],
    vectors: np.ndarray,
) -> None:
    """Store vectors for ``(num, text_hash)`` rows, replacing older ones."""
    nums = [num for num, _ in rows]
    session.execute(
        delete(Embedding).where(Embedding.model_id == model_id, Embedding.paper_num.in_(nums))
    )
    if not rows:
        return
    # One executemany, not an ORM object per row: the unit of work took half the time of a
    # static-encoder embedding job (100k papers: 7.0 s of 43 s).
    session.execute(
        insert(Embedding),
        [
            {"paper_num": num, "model_id": model_id, "text_hash": h, "vector": to_blob(v)}
            for (num, h), v in zip(rows, vectors, strict=True)
        ],
    )


def get_vectors(
    session: Session, model_id: str, nums: Iterable[int], dim: int
) -> tuple[list[int], np.ndarray]:
    """Current vectors for the given papers (papers without one are left out)."""
    nums = list(nums)
    found: list[int] = []
    blobs: list[bytes] = []
    for i in range(0, len(nums), 900):
        q = select(Embedding.paper_num, Embedding.vector).where(
            Embedding.model_id == model_id, Embedding.paper_num.in_(nums[i : i + 900])
        )
        for num, blob in session.execute(q):
            found.append(num)
            blobs.append(blob)
    return found, from_blobs(blobs, dim)


def iter_vectors(
    session: Session, model_id: str, dim: int, *, batch: int = 20_000
) -> Iterable[tuple[list[int], np.ndarray]]:
    """All cached vectors of a model, in batches (for index rebuilds)."""
    last = 0
    while True:
        q = (
            select(Embedding.paper_num, Embedding.vector)
            .where(Embedding.model_id == model_id, Embedding.paper_num > last)
            .order_by(Embedding.paper_num)
            .limit(batch)
        )
        rows = list(session.execute(q))
        if not rows:
            return
        yield [r[0] for r in rows], from_blobs([r[1] for r in rows], dim)
        last = rows[-1][0]
