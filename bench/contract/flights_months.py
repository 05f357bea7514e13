"""`make bench`: the data contract on real months: does it pass healthy data and refuse corrupted data?

The contract is inferred from the flights example's January-June (its own tolerances), then each
later month of 2013 is judged, plus October corrupted the way the demo corrupts it (temperature in
scaled Celsius, carrier "??"). Writes bench/results/contract_flights.{json,md}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flights"
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(EXAMPLE))


def main() -> int:
    import demo
    import prepare

    from airloop.data import contract as dc
    from airloop.spec.models import Contract as ContractSpec

    tol = ContractSpec(**yaml.safe_load((EXAMPLE / "airloop.yaml").read_text())["contract"])
    frame = prepare.load_all()
    reference = frame[frame["month"].isin(range(1, 7))][prepare.COLUMNS]
    contract = dc.infer(reference, "late")
    rows = []
    for m in range(7, 13):
        month = frame[frame["month"] == m][prepare.COLUMNS].reset_index(drop=True)
        batches = [(demo.MONTHS[m - 1], month)] + ([("Oct corrupted", demo.corrupt(month))] if m == 10 else [])
        for label, batch in batches:
            found = dc.check(batch, contract, tol)
            rows.append(
                {
                    "batch": label,
                    "rows": len(batch),
                    "verdict": "refused" if dc.blocking(found) else ("warned" if found else "accepted"),
                    "findings": [f"{v.column} {v.rule} ({v.severity}): {v.message}" for v in found],
                }
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "contract_flights.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# The data contract on the flights months",
        "",
        "Contract inferred from January-June 2013 with the example's tolerances and the default confidence",
        "(0.999) and severities. Reproduce: `.venv/bin/python bench/contract/flights_months.py`.",
        "",
        "| batch | rows | verdict | findings |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['batch']} | {r['rows']:,} | {r['verdict']} | {'; '.join(r['findings']) or '-'} |" for r in rows]
    (OUT / "contract_flights.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
