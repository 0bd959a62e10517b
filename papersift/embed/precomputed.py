"""Reading precomputed embeddings from files, in chunks, for `papersift embed --import`.

Embedding all of arXiv on a laptop's CPU takes days, so vectors computed elsewhere (a GPU box, a
shared dump) can be imported instead. Formats:

- ``.npz`` with arrays ``ids`` and ``vectors`` (what ``np.savez`` writes);
- ``.npy`` of vectors with a separate ids file: one id per line, or a ``.npy`` of strings;
- ``.parquet`` with a column ``id`` and a column ``vector`` or ``embedding`` (list of floats),
  read with pyarrow (the ``parquet`` extra).

Ids may be papersift ids (``arxiv:2403.12345``, ``doi:...``), bare arXiv ids or DOIs; the
catalog resolves them. Files are read in chunks (``.npy`` memory-mapped, ``.npz`` members and
parquet row batches streamed), so a 2.7M-row file never has to fit in memory twice. This module
only reads and checks rows; :meth:`papersift.service.catalog.Catalog.import_vector_chunks` is the
one place that writes them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

CHUNK = 10_000
VECTOR_COLUMNS = ("vector", "embedding")
KEEP_EXAMPLES = 10

Chunk = tuple[list[str], np.ndarray]


class PrecomputedError(ValueError):
    """The file cannot be imported as a whole: unknown format, wrong shape, ids missing."""


@dataclass
class VectorImport:
    """What an import did; unknown ids and bad rows are counted, not fatal."""

    read: int = 0
    imported: int = 0
    unknown: int = 0
    rejected: int = 0  # rows with NaN/inf values or all zeros
    unknown_examples: list[str] = field(default_factory=list)
    rejected_examples: list[str] = field(default_factory=list)

    def note_unknown(self, ids: Sequence[str]) -> None:
        self.unknown += len(ids)
        self.unknown_examples.extend(ids[: KEEP_EXAMPLES - len(self.unknown_examples)])

    def note_rejected(self, ids: Sequence[str]) -> None:
        self.rejected += len(ids)
        self.rejected_examples.extend(ids[: KEEP_EXAMPLES - len(self.rejected_examples)])


def check_rows(ids: Sequence[str], vectors: np.ndarray, dim: int) -> tuple[Chunk, list[str]]:
    """L2-normalised float32 rows that can be imported, and the ids of rows that cannot.

    A row is refused when any value is NaN or infinite, or when it is all zeros (it has no
    direction to normalise).
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise PrecomputedError(
            f"vectors have shape {vectors.shape}; the active encoder needs (n, {dim})"
        )
    if len(ids) != len(vectors):
        raise PrecomputedError(f"{len(ids)} ids for {len(vectors)} vectors")
    x = vectors.astype(np.float32, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(x, axis=1)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(norms) & (norms > 0)
    bad = [ids[int(i)] for i in np.flatnonzero(~ok)]
    keep = np.flatnonzero(ok)
    rows = x[keep] / norms[keep, None]
    return ([ids[int(i)] for i in keep], rows.astype(np.float32, copy=False)), bad


def _id_strings(values: np.ndarray, where: str) -> list[str]:
    if values.dtype.kind == "f":
        raise PrecomputedError(
            f"{where}: ids are floating-point numbers ({values.dtype}); arXiv ids such as "
            "2403.10000 lose digits that way, store them as strings"
        )
    if values.dtype.kind == "S":
        return [v.decode("utf-8").strip() for v in values]
    if values.dtype.kind in "Uiu":
        return [str(v).strip() for v in values]
    raise PrecomputedError(f"{where}: ids must be strings, not {values.dtype}")


# --- .npy and .npz ------------------------------------------------------------------------------


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except ValueError as exc:
        raise PrecomputedError(f"{where}: not a .npy array ({exc})") from None
    if fortran or dtype.hasobject:
        raise PrecomputedError(f"{where}: need a C-ordered numeric array, got {dtype}")
    return tuple(shape), np.dtype(dtype)


class VectorFile(Protocol):
    """A file of precomputed vectors: ``total`` rows of ``dim`` values, read by :meth:`chunks`."""

    total: int
    dim: int

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]: ...


class NpyVectors(VectorFile):
    """A memory-mapped ``.npy`` matrix with its ids held in memory (ids are small)."""

    def __init__(self, path: Path, ids: list[str]) -> None:
        try:
            self.matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise PrecomputedError(f"{path}: cannot read vectors ({exc})") from None
        if self.matrix.ndim != 2:
            raise PrecomputedError(f"{path}: vectors must be 2-d, got shape {self.matrix.shape}")
        if len(ids) != len(self.matrix):
            raise PrecomputedError(f"{path}: {len(ids)} ids for {len(self.matrix)} vectors")
        self.ids = ids
        self.total, self.dim = int(self.matrix.shape[0]), int(self.matrix.shape[1])

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        for start in range(0, self.total, size):
            yield self.ids[start : start + size], np.asarray(self.matrix[start : start + size])


class NpzVectors(VectorFile):
    """``ids`` and ``vectors`` members of an ``.npz``; ``vectors`` is streamed from the zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = {"ids", "vectors"} - set(data.files)
                if missing:
                    raise PrecomputedError(
                        f"{path}: an .npz needs arrays 'ids' and 'vectors' (missing: "
                        f"{', '.join(sorted(missing))}; found: {', '.join(data.files)})"
                    )
                self.ids = _id_strings(data["ids"], str(path))
        except (OSError, zipfile.BadZipFile) as exc:
            raise PrecomputedError(f"{path}: cannot read .npz ({exc})") from None
        with zipfile.ZipFile(path) as zf, zf.open("vectors.npy") as fh:
            shape, self.dtype = _npy_header(fh, f"{path}:vectors")
        if len(shape) != 2:
            raise PrecomputedError(f"{path}: vectors must be 2-d, got shape {shape}")
        if len(self.ids) != shape[0]:
            raise PrecomputedError(f"{path}: {len(self.ids)} ids for {shape[0]} vectors")
        self.total, self.dim = shape

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        row_bytes = self.dim * self.dtype.itemsize
        with zipfile.ZipFile(self.path) as zf, zf.open("vectors.npy") as fh:
            _npy_header(fh, str(self.path))
            for start in range(0, self.total, size):
                n = min(size, self.total - start)
                buf = fh.read(n * row_bytes)
                if len(buf) != n * row_bytes:
                    raise PrecomputedError(f"{self.path}: vectors end early at row {start}")
                rows = np.frombuffer(buf, dtype=self.dtype).reshape(n, self.dim)
                yield self.ids[start : start + n], rows


def read_ids_file(path: Path) -> list[str]:
    """Paper ids from a ``.npy`` of strings, or a text file with one id per line."""
    if path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise PrecomputedError(f"{path}: cannot read ids ({exc})") from None
        return _id_strings(np.ravel(values), str(path))
    with path.open(encoding="utf-8") as f:
        ids = [line.strip() for line in f]
    while ids and not ids[-1]:
        ids.pop()  # a trailing newline is not an id
    if "" in ids:
        raise PrecomputedError(f"{path}: line {ids.index('') + 1} is empty: one id per line")
    return ids


# --- parquet ------------------------------------------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise PrecomputedError(
            "reading parquet needs pyarrow: pip install 'papersift[parquet]' "
            "(or convert the file to .npz with arrays 'ids' and 'vectors')"
        ) from None
    return pq


class ParquetVectors(VectorFile):
    """Row batches of a parquet file: ``id`` and ``vector``/``embedding`` (list of floats)."""

    def __init__(self, path: Path) -> None:
        pq = _pyarrow()
        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own error types
            raise PrecomputedError(f"{path}: cannot read parquet ({exc})") from None
        names = self.file.schema_arrow.names
        self.vector_column = next((c for c in VECTOR_COLUMNS if c in names), None)
        if "id" not in names or self.vector_column is None:
            raise PrecomputedError(
                f"{path}: a parquet file needs columns 'id' and 'vector' (or 'embedding'); "
                f"found: {', '.join(names)}"
            )
        self.total = int(self.file.metadata.num_rows)
        self.dim = self._first_dim()

    def _first_dim(self) -> int:
        for batch in self.file.iter_batches(batch_size=1, columns=[self.vector_column]):
            if batch.num_rows:
                first = batch.column(0)[0].as_py()
                return len(first) if first is not None else 0
        return 0

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        import pyarrow as pa

        start = 0
        for batch in self.file.iter_batches(batch_size=size, columns=["id", self.vector_column]):
            ids = [str(v).strip() if v is not None else "" for v in batch.column(0).to_pylist()]
            col = batch.column(1)
            if col.null_count:
                raise PrecomputedError(f"{self.path}: a row near {start} has no vector")
            if pa.types.is_fixed_size_list(col.type):
                width = col.type.list_size
            elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                offsets = np.asarray(col.offsets)
                lengths = np.diff(offsets)
                if len(lengths) and (lengths != lengths[0]).any():
                    row = start + int(np.flatnonzero(lengths != lengths[0])[0])
                    raise PrecomputedError(
                        f"{self.path}: row {row} has {int(lengths[lengths != lengths[0]][0])} "
                        f"values, row {start} has {int(lengths[0])}"
                    )
                width = int(lengths[0]) if len(lengths) else self.dim
            else:
                raise PrecomputedError(
                    f"{self.path}: column {self.vector_column!r} is {col.type}, "
                    "not a list of floats"
                )
            values = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
            yield ids, values.reshape(len(ids), width)
            start += len(ids)


# --- choosing a reader --------------------------------------------------------------------------


def open_vectors(path: Path, ids_path: Path | None = None) -> VectorFile:
    """The reader for ``path`` by its suffix; ``.npy`` vectors need ``ids_path``."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if ids_path is not None:
            raise PrecomputedError(f"{path}: an .npz carries its own 'ids'; drop --ids")
        return NpzVectors(path)
    if suffix == ".npy":
        if ids_path is None:
            raise PrecomputedError(
                f"{path}: an .npy holds only vectors; give the paper ids with --ids FILE "
                "(one id per line, or a .npy of strings)"
            )
        return NpyVectors(path, read_ids_file(ids_path))
    if suffix in (".parquet", ".pq"):
        if ids_path is not None:
            raise PrecomputedError(f"{path}: a parquet file carries its own 'id' column")
        return ParquetVectors(path)
    raise PrecomputedError(
        f"{path}: unknown format {suffix or '(no suffix)'}; use .npz (ids + vectors), "
        ".npy with --ids, or .parquet (id + vector)"
    )
