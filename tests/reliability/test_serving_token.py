"""Issue 24, finding 10 (serving): with a token set, `/model`, `/metrics`, `/docs` and
`/openapi.json` were open, and `/model` showed absolute data paths. Now only `/health` and
`/ready` answer without the token, and `/model` shows paths relative to the spec's folder (or
file names only)."""

from __future__ import annotations

from pathlib import Path

from helpers.inapp import GOOD, client

TOKEN = "s3cret-for-tests"


def test_only_health_and_ready_are_open_and_model_shows_no_absolute_path(tmp_path: Path, record_property) -> None:
    with client(tmp_path, token=TOKEN, root=Path("/srv/project")) as http:
        paths = ("/model", "/metrics", "/docs", "/openapi.json", "/predict", "/labels", "/admin/reload", "/nowhere")
        open_ = [
            p for p in paths if http.request("POST" if p in ("/predict", "/labels") else "GET", p).status_code != 401
        ]
        record_property("observed", f"open without the token: {open_ or 'none'} (besides /health, /ready)")
        assert open_ == []
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 200
        auth = {"authorization": f"Bearer {TOKEN}"}
        assert http.post("/predict", json=GOOD, headers=auth).status_code == 200
        assert http.get("/metrics", headers=auth).status_code == 200
        assert http.get("/openapi.json", headers=auth).status_code == 200
        model = http.get("/model", headers=auth)
        assert model.status_code == 200
        text = model.text
        assert "/srv/" not in text, text
        assert "/elsewhere/" not in text, text
        body = model.json()
        assert body["contract"]["reference_batches"] == [["data/part_0.csv", 600], ["part_1.csv", 600]]
        assert body["lineage"]["contract_uri"] == "runs:/abc/contract/contract.json"  # a URI is not a path
