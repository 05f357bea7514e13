"""`make bench`: the reliability cases (issue 7) as a table of what was observed, and by which test.

Runs the tests that break each promise on purpose (tests/reliability, and the e2e tests for the
server and the stack), reads what each one observed (pytest's record_property, through JUnit XML),
and writes bench/results/reliability.{json,md}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (case, test node id)
CASES = [
    (
        "landed file with a taken name, and a copy of accepted data",
        "tests/reliability/test_landing_never_overwrites.py",
    ),
    ("a bad file beside good ones", "tests/reliability/test_files_judged_alone.py"),
    ("landed files without a marker, or written after it", "tests/reliability/test_ready_marker.py"),
    ("data that cannot be learned as the spec says", "tests/unit/cli/test_bad_target.py"),
    (
        "kill -9 of `airloop run` during tune_trials, a second run, a rerun",
        "tests/reliability/test_run_dies_with_its_command.py",
    ),
    ("a corrupted batch of each kind", "tests/reliability/test_corrupted_batches.py"),
    ("random mutations of the example spec", "tests/reliability/test_spec_fuzz.py"),
    (
        "request bodies nested too deeply, integers too large",
        "tests/e2e/test_serve_http.py::test_invalid_requests_get_4xx_naming_each_field",
    ),
    ("labels for request ids never issued", "tests/e2e/test_serve_http.py::test_labels_by_api_and_by_file"),
    (
        "kill -9 of the server under load",
        "tests/e2e/test_swap_and_durability.py::test_kill_9_loses_no_acknowledged_prediction",
    ),
    (
        "10 hot swaps under 16 clients",
        "tests/e2e/test_swap_and_durability.py::test_ten_hot_swaps_under_sixteen_clients_fail_no_request",
    ),
    ("`airloop down` after a live loop", "tests/e2e/test_stack.py::test_live_loop_on_the_real_stack"),
    # issue 24: the second fault probe
    (
        "landing on a full disk, unreadable, still being written, of another format",
        "tests/reliability/test_landing_edges.py",
    ),
    (
        "label files: broken lines, bad labels, unknown ids, crashes, a full disk",
        "tests/reliability/test_label_files_checked.py",
    ),
    ("label fields: a timestamp, an unknown field", "tests/reliability/test_label_fields.py"),
    ("a full disk under serving", "tests/reliability/test_serving_disk_full.py"),
    ("versions that cannot answer, before they become champion", "tests/reliability/test_promotion_smoke.py"),
    ("time features as epoch seconds and as garbage", "tests/reliability/test_serving_time_features.py"),
    ("endpoints open with a token set", "tests/reliability/test_serving_token.py"),
    ("SIGTERM, SIGHUP, kill -9 of `airloop up`", "tests/reliability/test_up_stops_on_every_signal.py"),
    ("a workspace other users can read", "tests/reliability/test_workspace_is_private.py"),
    ("a port in use", "tests/reliability/test_port_in_use.py"),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}"]
        proc = subprocess.run([*cmd, *[node for _, node in CASES]], cwd=ROOT, check=False)
        tree = ET.parse(report)
    cases = {}
    for tc in tree.iter("testcase"):
        path = tc.get("classname", "").replace(".", "/") + ".py"
        node = f"{path}::{tc.get('name')}"
        failed = tc.find("failure") is not None or tc.find("error") is not None
        props = {p.get("name"): p.get("value") for p in tc.iter("property")}
        cases[node] = {"passed": not failed, "seconds": round(float(tc.get("time", 0)), 1), **props}
    rows = []
    for case, node in CASES:
        found = [(n, c) for n, c in cases.items() if n == node or n.startswith(node + "::")]
        for n, c in found:
            rows.append({"case": case, "test": n, **c})
    out = ROOT / "bench" / "results"
    (out / "reliability.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "# Reliability: faults and bad input tried on purpose",
        "",
        "Reproduce: `.venv/bin/python bench/reliability/run.py` (part of `make bench`). Each row is a test",
        'in `make test`; "observed" is what the test recorded on this run.',
        "",
        "| case | observed | result | s | test |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['case']} | {r.get('observed', '')} | {'passed' if r['passed'] else 'FAILED'} | {r['seconds']} "
        f"| `{r['test']}` |"
        for r in rows
    ]
    (out / "reliability.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'reliability.md'}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
