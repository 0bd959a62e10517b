"""papersift: a self-hostable research-paper discovery engine."""

__version__ = "0.1.0"
