"""A fuzz pass over the spec loader: random mutations of the example spec never give a traceback;
every refusal is exit 2 with the file and a line."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from airloop.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "flights"
TOKENS = [
    "",
    "-1",
    "1e999",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- x",
    "null",
    "yes",
    "\t",
    "'",
    '"',
    "&a",
    "*a",
    "!!python/none",
    "é",
]


def _mutate(lines: list[str], rng: random.Random) -> list[str]:
    out = list(lines)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        op = rng.randrange(6)
        if op == 0:
            del out[i]
        elif op == 1:
            out.insert(i, out[i])  # duplicate a line: a duplicate key, often
        elif op == 2:
            out[i] = " " * rng.randint(1, 5) + out[i]  # indentation
        elif op == 3 and ":" in out[i]:
            key = out[i].split(":", 1)[0]
            out[i] = f"{key}: {rng.choice(TOKENS)}"  # a value replaced
        elif op == 4:
            out[i] = out[i][: rng.randrange(len(out[i]) + 1)]  # truncated
        else:
            out.insert(i, rng.choice(TOKENS))
    return out


def test_mutated_specs_are_accepted_or_refused_with_a_location(tmp_path: Path, record_property) -> None:
    for name in ("airloop.yaml", "features.py"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    lines = (EXAMPLE / "airloop.yaml").read_text().splitlines()
    rng = random.Random(7)
    outcomes = {0: 0, 2: 0}
    for trial in range(150):
        text = "\n".join(_mutate(lines, rng)) + "\n"
        (tmp_path / "airloop.yaml").write_text(text)
        res = CliRunner().invoke(main, ["validate", str(tmp_path)])
        assert res.exit_code in outcomes, (trial, text, res.output, res.exception)
        assert res.exception is None or isinstance(res.exception, SystemExit), (trial, text, repr(res.exception))
        outcomes[res.exit_code] += 1
        if res.exit_code == 2:
            assert re.search(r"airloop\.yaml:\d+", res.output), (trial, text, res.output)
            assert "fix:" in res.output, (trial, res.output)
    assert outcomes[2] > 50  # the mutations do break specs: the test is not vacuous
    record_property(
        "observed",
        f"150 mutations: {outcomes[0]} accepted, {outcomes[2]} refused with file:line and a fix, 0 tracebacks",
    )
