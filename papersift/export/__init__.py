"""Formats papersift hands to other tools: BibTeX for reference managers, Atom/RSS for readers."""
