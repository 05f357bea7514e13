"""The one error this package raises: a model folder that must not or cannot be loaded."""

from __future__ import annotations


class NotLoadable(Exception):
    """The folder is not a model this runtime loads (unknown format, untrusted content, changed file)."""
