"""Old home of ``Prepare``: models registered before airloop 0.2 were pickled with this path.

Kept so that every stored version still loads; new code imports ``airloop.model.prepare``.
"""

from airloop.model.prepare import MISSING, Prepare, as_text

__all__ = ["MISSING", "Prepare", "as_text"]
