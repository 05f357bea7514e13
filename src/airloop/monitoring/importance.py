"""How much the model's quality depends on each input column: permutation importance on the holdout.

Recorded with the champion's drift reference, so the policy weighs drift by what it does to the
model: a drifting column the model ignores is no reason to retrain. Columns are the model's inputs
(before the project's transform), the same ones drift is computed on; permuting a raw column
permutes everything the transform derives from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def permutation_importance(
    score: Callable[[Any], float],
    X: Any,
    columns: list[str],
    *,
    maximize: bool = True,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Mean loss of ``score`` (higher is better when ``maximize``) when one column is shuffled;
    0 means the model does not use the column, a negative value that shuffling happened to help."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = score(X)
    out: dict[str, float] = {}
    for col in columns:
        losses = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[col] = X[col].to_numpy()[rng.permutation(len(X))]
            value = score(shuffled)
            losses.append(base - value if maximize else value - base)
        out[col] = float(np.mean(losses))
    return out
