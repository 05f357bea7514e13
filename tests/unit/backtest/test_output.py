"""The backtest's table names what became of each retrain: a contract refusal is not a gate's."""

from __future__ import annotations

from airloop.backtest.output import outcome


def test_a_retrain_is_promoted_refused_by_the_gate_or_its_data_refused_by_the_contract() -> None:
    assert outcome({"promoted": True}) == ", promoted"
    assert outcome({"promoted": False, "why": "roc_auc 0.70 is not above the champion"}) == ", gate refused"
    refused = {"promoted": False, "why": "run failed: 1 of 2 batch(es) refused", "rejected": ["p001-20170301"]}
    assert outcome(refused) == ", data refused by the contract"
    assert outcome({"promoted": False, "why": "run failed: the estimator raised"}) == ", run failed"
