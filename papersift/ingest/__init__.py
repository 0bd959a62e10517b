"""Parsers that turn each source format into :class:`PaperRecord` values.

Every source module exposes ``parse(...) -> Iterator[PaperRecord | ParseProblem]``: parsers never
raise on one bad record; they yield a :class:`ParseProblem` with the line/offset and move on, so
the rest of a batch lands.
"""
