"""Parsers import the record types from here; they live in :mod:`papersift.records`."""

from papersift.records import PaperRecord, ParseItem, ParseProblem

__all__ = ["PaperRecord", "ParseItem", "ParseProblem"]
