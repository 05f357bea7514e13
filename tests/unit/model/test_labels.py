"""Labels of any type: normalised for training, one positive class for binary, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.errors import UnusableData
from airloop.metrics import compute
from airloop.model.labels import Labels, coerce, infer, match_class, normalize


@pytest.mark.parametrize(
    ("values", "positive", "why"),
    [
        (["YES", "NO", "NO", "NO"], "YES", "positive answer"),
        (["no", "yes", "yes", "yes"], "yes", "positive answer"),  # the word wins over the minority
        ([True, False, False], True, "positive answer"),
        ([0, 1, 1, 0, 0], 1, "positive answer"),
        (["cat", "dog", "dog", "dog"], "cat", "minority"),
        (["Present", "Absent", "Absent"], "Present", "minority"),
    ],
)
def test_the_positive_class_is_a_word_that_says_so_or_else_the_minority(values, positive, why) -> None:
    labels = infer(pd.Series(values), "binary")
    assert labels is not None
    assert labels.positive == positive
    assert type(labels.positive) is type(positive)
    assert why in labels.reason
    assert labels.classes == sorted(set(values))


def test_categorical_nullable_and_integral_float_labels_become_plain_values() -> None:
    cat = pd.Series(pd.Categorical(["b", "a", None, "b"]))
    assert normalize(cat.dropna(), "multiclass").tolist() == ["b", "a", "b"]
    assert normalize(pd.Series([1.0, 0.0, 1.0]), "binary").dtype == "int64"
    assert normalize(pd.Series([True, False], dtype="boolean"), "binary").tolist() == [True, False]
    labels = infer(pd.Series([None, "x", "y", "z"], dtype="str"), "multiclass")
    assert labels == Labels(["x", "y", "z"])
    assert all(type(c) is str for c in labels.classes)


def test_a_declared_positive_class_is_matched_leniently_and_refused_when_absent() -> None:
    y = pd.Series(["YES", "NO", "NO"])
    assert infer(y, "binary", declared="NO").positive == "NO"
    assert infer(y, "binary", declared=True).positive == "YES"  # YAML reads `yes` as true
    assert infer(pd.Series([0, 1]), "binary", declared="0").positive == 0
    with pytest.raises(UnusableData, match="'MAYBE' is not among the labels") as err:
        infer(y, "binary", declared="MAYBE", target="answer")
    assert err.value.where == ("data", "positive_class")
    assert "'NO', 'YES'" in (err.value.hint or "")


def test_a_constant_target_and_three_classes_for_binary_are_refused_with_a_fix() -> None:
    with pytest.raises(UnusableData, match="single class") as err:
        infer(pd.Series(["a", "a", None]), "binary", target="t")
    assert err.value.exit_code == 3
    assert not err.value.retryable
    with pytest.raises(UnusableData, match="binary but target `t` has 3 classes") as err:
        infer(pd.Series(["a", "b", "c"]), "binary", target="t")
    assert "multiclass" in (err.value.hint or "")


def test_labels_posted_back_are_mapped_onto_the_models_classes() -> None:
    assert coerce(["yes", "NO", 1], ["NO", "YES"]) == ["YES", "NO", 1]
    assert coerce(["1", 0, True], [0, 1]) == [1, 0, True]
    assert match_class("maybe", ["NO", "YES"]) is None


def test_binary_metrics_use_the_positive_class_for_string_labels() -> None:
    y = np.array(["NO", "YES", "YES", "NO"])
    classes = ["NO", "YES"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    pred = np.array(["NO", "YES", "NO", "NO"])
    assert compute("roc_auc", y, pred, proba, classes, "YES") == 1.0
    # the positive class's own column is scored, wherever the model put it
    assert compute("roc_auc", y, pred, proba[:, ::-1], ["YES", "NO"], "YES") == 1.0
    assert compute("roc_auc", y, pred, proba[:, ::-1], ["YES", "NO"], "NO") == 1.0
    assert compute("recall", y, pred, proba, classes, "YES") == 0.5
    assert compute("recall", y, pred, proba, classes, "NO") == 1.0
    assert compute("f1", y, pred, proba, classes) == pytest.approx(2 / 3)  # default: the last class
    assert compute("log_loss", y, pred, proba, classes) > 0
