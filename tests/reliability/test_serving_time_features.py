"""Issue 24, finding 8: a time feature sent as epoch seconds. Before: a 500, and in a batch the
good records beside it failed too (the batcher parsed the value as text). Now: request validation
takes what the contract's datetime type can hold, ISO 8601 text or epoch seconds (UTC), with the
parser that builds the model's frame; anything else is a 422 naming the field, and in a batch under
`serving.batch_errors: partial` only that record is refused."""

from __future__ import annotations

from pathlib import Path

from helpers.inapp import GOOD, client

EPOCH = 1372759200  # 2013-07-02T10:00:00Z, the time GOOD holds as text


def test_epoch_seconds_and_iso_text_answer_alike_and_bad_times_are_422s(tmp_path: Path, record_property) -> None:
    with client(tmp_path) as http:
        iso = http.post("/predict", json=GOOD)
        epoch = http.post("/predict", json={**GOOD, "when": EPOCH})
        record_property("observed", f"epoch seconds alone: {epoch.status_code}")
        assert iso.status_code == 200
        assert epoch.status_code == 200, epoch.text
        assert epoch.json()["probabilities"] == iso.json()["probabilities"]
        assert http.post("/predict", json={**GOOD, "when": float(EPOCH)}).json()["predictions"] == [1]

        batch = [GOOD, {**GOOD, "when": EPOCH}, {**GOOD, "when": "yesterday"}, {**GOOD, "when": 1e300}, GOOD]
        mixed = http.post("/predict", json={"records": batch})
        record_property("observed", f"epoch seconds alone: {epoch.status_code}; in a batch: {mixed.status_code}")
        assert mixed.status_code == 200, mixed.text
        body = mixed.json()
        assert [p is None for p in body["predictions"]] == [False, False, True, True, False]
        assert [(e["index"], e["field"]) for e in body["errors"]] == [(2, "when"), (3, "when")]
        assert "not a time: 'yesterday'" in body["errors"][0]["problem"]

        for bad in ("2013-13-45", True, [EPOCH], {"s": EPOCH}, None):
            one = http.post("/predict", json={**GOOD, "when": bad})
            assert one.status_code == 422, (bad, one.text)
            assert one.json()["details"][0]["field"] == "when"
        schema = http.get("/openapi.json").json()["components"]["schemas"]["Record"]["properties"]["when"]
        assert "epoch seconds" in schema["description"]
