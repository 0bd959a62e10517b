"""Cell values from JSONL objects and CSV rows, coerced to the types a :class:`PaperRecord` holds.

Exports disagree on how a value is written: a number where text belongs, ``NaN`` for an empty
cell (pandas), a list as a JSON list, a Python literal (``"['cs.LG', 'cs.AI']"``) or a delimited
string, authors as ``[{"name": ...}]``. These rules are independent of the file format and of
the column mapping, so they live apart from :mod:`papersift.ingest.tabular`, which reads the
files and maps columns to fields.

A value of a type no rule accepts raises :class:`RowError`; the parser reports the row as a
:class:`ParseProblem` and carries on.
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

from papersift.ingest.files import split_authors

_LITERAL_MAX = 100_000  # ast.literal_eval is safe but not cheap; longer strings are split instead
_LIST_SPLIT = re.compile(r"[\s,;|]+")


class RowError(ValueError):
    """One record holds a value of the wrong type; reported as a ParseProblem, never raised out."""


def _missing(value: object) -> bool:
    """None, or the NaN that pandas writes for an empty cell."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_text(value: object, field_name: str) -> str:
    """A text field; numbers (an id column read as a float) become text, empty cells ``""``."""
    if _missing(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RowError(f"{field_name}: expected text, got {type(value).__name__}")


def as_version(value: object) -> int | None:
    """A positive version number from ``3``, ``"3"`` or ``"v3"``; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*v?(\d{1,4})\s*", value, re.IGNORECASE)
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
    return None


def as_list(value: object, field_name: str) -> list[str]:
    """A list field from a JSON list, a Python-literal or JSON string, or a delimited string."""
    if _missing(value) or value == "":
        return []
    if isinstance(value, list | tuple):
        return [s for s in (_list_item(v, field_name) for v in value) if s]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if not isinstance(value, str):
        raise RowError(f"{field_name}: expected a list or text, got {type(value).__name__}")
    text = value.strip()
    literal = _literal_list(text)
    if literal is not None:
        return [s for s in (_list_item(v, field_name) for v in literal) if s]
    if field_name == "authors":
        return (
            [a.strip() for a in text.split(";") if a.strip()]
            if ";" in text
            else split_authors(text)
        )
    return [s for s in _LIST_SPLIT.split(text.strip("[]()")) if s]


def _literal_list(text: str) -> list[Any] | None:
    """``["a", "b"]`` or ``['a', 'b']`` as a list; None when the text is not such a literal.

    ``ast.literal_eval`` evaluates literals only (never code); long strings skip it because
    parsing them costs memory for no gain.
    """
    if len(text) < 2 or text[0] not in "[(" or text[-1] not in "])" or len(text) > _LITERAL_MAX:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    return list(parsed) if isinstance(parsed, list | tuple) else None


def _list_item(value: object, field_name: str) -> str:
    if _missing(value):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"]).strip()  # authors as [{"name": ...}]
    raise RowError(f"{field_name}: unexpected {type(value).__name__} in the list")
