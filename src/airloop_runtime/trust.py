"""What a scikit-learn estimator stored with skops may contain, and the checks that make it safe.

skops loads only the types it is told to trust and calls no function the file names. It trusts
scikit-learn's estimators by default, but not the two tree structures most tabular models hold
(``Tree``: forests, trees, gradient boosting; ``TreePredictor``: HistGradientBoosting): their node
indices are not bounds-checked at predict time, so a crafted file could read outside its arrays.
This runtime trusts those two and checks every index after loading, before the model answers.
The list lives here, in code; it is never read from the model's own files.
"""

from __future__ import annotations

from typing import Any

from airloop_runtime.errors import NotLoadable

TREE = "sklearn.tree._tree.Tree"
TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
# HistGradientBoosting with categorical_features (encoding: native) keeps a FunctionTransformer of
# partial(check_array, ...): skops builds a partial only of functions it is told to trust, and
# check_array is the one function trusted here (it validates an array; it reads no file, runs nothing)
PARTIAL_OF_CHECK_ARRAY = ("functools.partial", "sklearn.utils.validation.check_array")
TRUSTED = (TREE, TREE_PREDICTOR, *PARTIAL_OF_CHECK_ARRAY)


def check_bounds(estimator: Any) -> None:
    """Every tree node of ``estimator`` (at any depth of its attributes) points inside its arrays."""
    seen: set[int] = set()
    n_features = getattr(estimator, "n_features_in_", None)

    def visit(obj: Any, depth: int) -> None:
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        if kind == TREE:
            _check_tree(obj, n_features)
        elif kind == TREE_PREDICTOR:
            _check_predictor(obj, n_features)
        elif isinstance(obj, list | tuple):
            for item in obj:
                visit(item, depth + 1)
        elif type(obj).__module__.startswith("numpy") and getattr(getattr(obj, "dtype", None), "kind", "") == "O":
            for item in obj.ravel().tolist():
                visit(item, depth + 1)
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("sklearn"):
            for value in vars(obj).values():
                visit(value, depth + 1)

    visit(estimator, 0)


def _check_tree(tree: Any, n_features: int | None) -> None:
    import numpy as np

    count = int(tree.node_count)
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    if not (len(left) == len(right) == len(feature) == count == tree.value.shape[0]):
        raise NotLoadable(f"a decision tree's arrays disagree with its {count} nodes")
    inner = left != -1
    parent = np.arange(count)[inner]
    for name, idx in (("left", left), ("right", right)):
        # children come after their parent (as scikit-learn builds trees): every path ends at a leaf
        if np.any((idx[inner] <= parent) | (idx[inner] >= count)) or np.any(idx[~inner] != -1):
            raise NotLoadable(f"a decision tree's {name} child indices point outside its {count} nodes")
    limit = int(tree.n_features) if n_features is None else min(int(tree.n_features), int(n_features))
    if np.any((feature[inner] < 0) | (feature[inner] >= limit)):
        raise NotLoadable(f"a decision tree splits on a feature outside its {limit} features")


def _check_predictor(predictor: Any, n_features: int | None) -> None:
    import numpy as np

    nodes = predictor.nodes
    count = len(nodes)
    inner = nodes["is_leaf"] == 0
    parent = np.arange(count)[inner]
    for name in ("left", "right"):
        idx = nodes[name][inner].astype("int64")
        if np.any((idx <= parent) | (idx >= count)):
            raise NotLoadable(f"a gradient-boosting tree's {name} child indices point outside its {count} nodes")
    if n_features is not None and np.any(nodes["feature_idx"][inner].astype("int64") >= int(n_features)):
        raise NotLoadable(f"a gradient-boosting tree splits on a feature outside its {n_features} features")
    categorical = inner & (nodes["is_categorical"] != 0)
    bitsets = len(predictor.raw_left_cat_bitsets)
    if np.any(nodes["bitset_idx"][categorical].astype("int64") >= bitsets):
        raise NotLoadable("a gradient-boosting tree's categorical split points outside its bitsets")
    if len(predictor.binned_left_cat_bitsets) != bitsets:
        raise NotLoadable("a gradient-boosting tree's categorical bitsets disagree")
