"""Steps, spec, plan and tracking never import Airflow: they can run and be tested without it."""

from __future__ import annotations

import json
import subprocess
import sys


def test_steps_do_not_import_airflow() -> None:
    code = (
        "import json, sys, importlib\n"
        "from airloop.steps.runner import STEPS\n"
        "mods = {'airloop.steps.' + v.split(':')[0] for v in STEPS.values()}\n"
        "mods |= {'airloop.spec', 'airloop.plan', 'airloop.tracking', 'airloop.data.contract', 'airloop.cli'}\n"
        "[importlib.import_module(m) for m in sorted(mods)]\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []
