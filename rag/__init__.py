"""Retrieval-augmented answers over the AI Engineer hiring guide, with exact citations."""

__version__ = "0.1.0"
