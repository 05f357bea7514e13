"""Load airloop.yaml into a ``Spec``, reporting every problem at once with file, line and fix."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from airloop.errors import SpecError, SpecProblem
from airloop.spec.models import Spec


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec plus where it came from."""

    spec: Spec
    path: Path  # absolute path of the YAML file

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def spec_hash(self) -> str:
        canonical = json.dumps(self.spec.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.root / p


def load_spec(path: str | Path, *, deep: bool = False) -> LoadedSpec:
    """Parse and check ``path``. ``deep`` also imports estimators and transforms (not at DAG parse)."""
    from airloop.spec.rules import check_rules

    file = Path(path).expanduser().resolve()
    shown = str(path)
    if file.is_dir():
        file = file / "airloop.yaml"
        shown = str(Path(path) / "airloop.yaml")
    if not file.exists():
        raise SpecError([SpecProblem(shown, None, "", "file not found", "pass the path of an airloop.yaml")])
    text = file.read_text()
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            [SpecProblem(shown, line, "", f"malformed YAML: {problem}", "fix the YAML syntax at that line")]
        ) from None
    duplicates = list(_duplicate_keys(node, shown))
    if duplicates:
        raise SpecError(duplicates)
    if not isinstance(raw, dict):
        raise SpecError(
            [SpecProblem(shown, 1, "", "the file must hold a mapping of keys", "start with `name: my-project`")]
        )
    locator = _Locator(node, shown)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        problems = [locator.problem_from_pydantic(err) for err in exc.errors()]
        raise SpecError(problems) from None
    loaded = LoadedSpec(spec, file)
    problems = [locator.problem(loc, msg, fix) for loc, msg, fix in check_rules(loaded, deep=deep)]
    if problems:
        raise SpecError(problems)
    return loaded


def _duplicate_keys(node: yaml.Node | None, file: str, path: tuple[Any, ...] = ()) -> Any:
    """Every key given twice in one mapping, at any depth. YAML keeps the last silently: a second
    `serving:` block would replace the first without a word."""
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in first:
                yield SpecProblem(
                    file,
                    line,
                    _dotted((*path, name)),
                    f"duplicate key `{name}`: also at line {first[name]}, and only one of them would count",
                    f"merge the two `{name}:` entries (lines {first[name]} and {line}) into one",
                )
            else:
                first[name] = line
            yield from _duplicate_keys(value, file, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, file, (*path, i))


class _Locator:
    """Maps a key path such as ``("candidates", 0, "estimator")`` to a line of the YAML file."""

    def __init__(self, root: yaml.Node | None, file: str) -> None:
        self.root, self.file = root, file

    def line(self, loc: tuple[Any, ...]) -> int | None:
        node, line = self.root, 1
        for part in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            node = self._child(node, part, key_node=part == loc[-1])
        if node is not None:
            line = node.start_mark.line + 1
        return line

    @staticmethod
    def _child(node: yaml.Node, part: Any, key_node: bool) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    # the last key of a path is shown at the key itself: a block value starts a line later
                    return k if key_node else v
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            return node.value[part]
        return None

    def problem(self, loc: tuple[Any, ...], message: str, fix: str) -> SpecProblem:
        return SpecProblem(self.file, self.line(loc), _dotted(loc), message, fix)

    def problem_from_pydantic(self, err: Any) -> SpecProblem:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind, value = err["type"], err.get("input")
        if kind == "extra_forbidden":
            allowed = _fields_at(Spec, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            guess = f"did you mean `{close[0]}`? " if close else ""
            return self.problem(loc, f"unknown key `{loc[-1]}`", f"{guess}allowed keys here: {', '.join(allowed)}")
        if kind == "missing":
            return self.problem(loc, f"required key `{loc[-1]}` is missing", f"add `{loc[-1]}:` to this section")
        if kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            return self.problem(loc, f"{value!r} is not allowed", f"use one of {expected}")
        if kind == "string_pattern_mismatch":
            pattern = err.get("ctx", {}).get("pattern", "")
            return self.problem(loc, f"{value!r} has the wrong form", f"it must match {pattern}")
        if kind == "value_error":  # a validator's own words: "what is wrong; how to fix it"
            message, _, fix = str(err.get("ctx", {}).get("error", err["msg"])).partition("; ")
            return self.problem(loc, message, fix or "see the message")
        wanted = kind.split("_")[0]
        return self.problem(
            loc, f"{err['msg']} (got {_short(value)})", f"give a {wanted} value here" if wanted else "see the docs"
        )


def _fields_at(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model reached by following ``loc`` through annotations."""
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return []
    return list(current.model_fields) if _is_model(current) else []


def _descend(tp: Any, part: Any) -> Any:
    if _is_model(tp):
        field = tp.model_fields.get(part)
        return _unwrap(field.annotation) if field else None
    origin = get_origin(tp)
    if origin in (list, tuple) and isinstance(part, int):
        return _unwrap(get_args(tp)[0])
    if origin is dict:
        return _unwrap(get_args(tp)[1])
    return None


def _unwrap(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) not in (list, dict, tuple) and args and len(args) == 1:
        return _unwrap(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
