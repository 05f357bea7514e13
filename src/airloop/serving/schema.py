"""Request models generated from the data contract, so that OpenAPI types every feature.

A request is one record (an object keyed by feature name) or ``{"records": [...]}``; either may
carry entity ids for joining labels later. Validation errors name each offending field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from airloop.data.contract import ColumnRule, Contract
from airloop.data.labelcheck import unknown_field
from airloop.scoring.frame import parse_time

# JSON has no NaN: a float field takes finite numbers only (ints are fine).
Number = StrictFloat | StrictInt


def _time(value: Any) -> Any:
    """A time feature is checked with the parser that builds the model's frame (``parse_time``), so
    that what passes here the batcher can read; the value itself goes on as the client sent it."""
    if value is None:
        raise PydanticCustomError("datetime_type", "null is not allowed here")
    try:
        parse_time(value)
    except TypeError:
        raise PydanticCustomError("datetime_type", "Input should be ISO 8601 text or epoch seconds") from None
    except ValueError:
        raise PydanticCustomError(
            "time_value",
            "not a time: {value} (give ISO 8601 text such as 2013-07-02T10:00:00Z, or epoch seconds)",
            {"value": repr(value)[:60]},
        ) from None
    return value


Time = Annotated[
    Any,
    PlainValidator(_time),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO 8601 text (without an offset: UTC), or epoch seconds (UTC)",
        }
    ),
]
ENTITY = "entity_id"


def _field_type(rule: ColumnRule, unknown: str) -> Any:
    if rule.kind == "numeric":
        base: Any = Annotated[Number, Field(allow_inf_nan=False)]
        if rule.min is not None and rule.max is not None:
            base = Annotated[
                Number, Field(allow_inf_nan=False, description=f"seen in training: {rule.min:g} to {rule.max:g}")
            ]
    elif rule.kind == "boolean":
        base = StrictBool
    elif rule.kind == "datetime":
        base = Time
    elif rule.categories and unknown == "reject":
        base = Literal[tuple(rule.categories)]  # type: ignore[valid-type]
    else:
        desc = (
            f"known: {', '.join(rule.categories[:20])}{'...' if len(rule.categories) > 20 else ''}"
            if rule.categories
            else None
        )
        base = Annotated[StrictStr, Field(description=desc)] if desc else StrictStr
    return base | None if rule.nullable else base


# a passthrough value is carried as it came, into JSON answers and the log's columns: a scalar
Scalar = StrictStr | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)] | StrictBool
EntityId = StrictStr | StrictInt


@dataclass(frozen=True)
class RecordShape:
    """What a record may carry besides the features: ``serving.passthrough`` columns (carried into the
    answer and the log), the column holding its entity id (``serving.entity_id``), and what happens to
    any other field (``serving.extra_fields``: ignored and counted, the way pydantic and MLflow's
    schema enforcement treat extra fields, or refused)."""

    passthrough: tuple[str, ...] = ()
    entity: str = ENTITY
    extra: str = "ignore"

    @classmethod
    def of(cls, serving: Any) -> RecordShape:
        return cls(tuple(serving.passthrough), serving.entity_id or ENTITY, serving.extra_fields)

    def known(self, features: Any) -> frozenset[str]:
        """Every field a record may carry without it being an extra one."""
        return frozenset((*features, ENTITY, self.entity, *self.passthrough))

    def ignored(self, records: Any, known: frozenset[str]) -> int:
        """Fields of ``records`` (the objects among them) that no rule names: ignored, counted."""
        if self.extra != "ignore":
            return 0
        return sum(len(rec.keys() - known) for rec in records if isinstance(rec, dict))

    def carried(self, records: Any) -> list[dict[str, Any] | None]:
        """The passthrough values of each record, in the request's order (None for a non-object)."""
        return [{c: rec.get(c) for c in self.passthrough} if isinstance(rec, dict) else None for rec in records]

    def name_entities(self, records: list[dict[str, Any]]) -> None:
        """Valid records only: the entity id read from ``serving.entity_id`` moves to the field the
        log, the canary and the shadow read (``entity_id``); the column wins over that field."""
        if self.entity == ENTITY:
            return
        for rec in records:
            value = rec.get(self.entity)
            if value is not None:
                rec[ENTITY] = value


def record_model(
    contract: Contract, unknown: str, name: str = "Record", shape: RecordShape = RecordShape()
) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for col in contract.feature_columns():
        rule = contract.columns[col]
        tp = _field_type(rule, unknown)
        fields[col] = (tp, ...)  # every feature must be present; null only where the contract allows
    fields[ENTITY] = (EntityId | None, Field(None, description="your id, to join labels later"))
    if shape.entity not in fields:
        fields[shape.entity] = (EntityId | None, Field(None, description="the entity id (serving.entity_id)"))
    for col in shape.passthrough:
        if col not in fields:
            fields[col] = (Scalar | None, Field(None, description="carried into the answer (serving.passthrough)"))
    config = ConfigDict(extra="forbid") if shape.extra == "reject" else ConfigDict(extra="ignore")
    return create_model(name, __config__=config, **fields)


def batch_model(record: type[BaseModel], max_records: int) -> type[BaseModel]:
    return create_model(
        "Batch",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, max_length=max_records)),  # type: ignore[valid-type]
    )


class RecordError(BaseModel):
    index: int = Field(description="the record's position in `records`")
    field: str
    problem: str


class Problem(BaseModel):
    field: str
    problem: str


class ModelRef(BaseModel):
    name: str
    version: str


class Prediction(BaseModel):
    """The answer to one record or a batch; for a batch, ``predictions[i]`` answers ``records[i]``."""

    request_id: str = Field(description="quote it in POST /labels to join the ground truth")
    model: ModelRef
    predictions: list[Any] = Field(description="null where the record was refused (see `errors`)")
    classes: list[Any] | None = None
    positive_class: Any = None
    probabilities: list[list[float] | None] | None = Field(None, description="per class, in the order of `classes`")
    errors: list[RecordError] | None = Field(
        None,
        description="batches only: the records refused by the contract, by index (serving.batch_errors: partial); "
        "the others were predicted and logged",
    )
    passthrough: list[dict[str, Any] | None] | None = Field(
        None, description="the serving.passthrough fields of each record, as sent (present when the spec names some)"
    )


class ErrorBody(BaseModel):
    error: str
    details: list[Problem] | None = None


class Label(BaseModel):
    """The ground truth of an earlier request (request_id) or of your entity (entity_id)."""

    model_config = ConfigDict(extra="forbid")
    request_id: StrictStr | None = None
    entity_id: StrictStr | StrictInt | None = None
    label: StrictFloat | StrictInt | StrictStr | StrictBool
    ts: StrictFloat | StrictInt | StrictStr | None = Field(
        None,
        validation_alias=AliasChoices("ts", "timestamp"),
        description="when the outcome was observed: epoch seconds or ISO 8601 (default: when it is recorded); "
        "also accepted as `timestamp`",
    )

    @model_validator(mode="before")
    @classmethod
    def _label_fields(cls, data: Any) -> Any:
        # an unknown key would read "not a feature of this model" (the predict wording): name a label's fields
        if not isinstance(data, dict):
            return data
        wrong = unknown_field(data)
        if wrong:
            raise PydanticCustomError("label_field", wrong.problem)
        if "ts" in data and "timestamp" in data:  # one of them is null: the other is the time
            data = {k: v for k, v in data.items() if not (k in ("ts", "timestamp") and v is None)}
        return data


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[Label] = Field(min_length=1, max_length=100_000)


@dataclass(frozen=True)
class Judged:
    """A batch judged against the contract: ``positions`` are the indexes of the records that match
    (None: all of them), ``refused`` the others' problems (index, field, problem), ``error`` the
    validation error behind them."""

    positions: list[int] | None
    refused: list[dict[str, Any]]
    error: ValidationError | None = None


def judge(check: TypeAdapter[Any], body: dict[str, Any]) -> Judged:
    """Judge ``{"records": [...]}`` record by record: the one judgement of ``POST /predict`` and of
    ``airloop score``. Raises ValidationError when the batch itself is wrong (too many records, a key
    beside ``records``), not any one record."""
    try:
        check.validate_python(body)
        return Judged(None, [])
    except ValidationError as exc:
        per_record = by_record(exc.errors())
        if per_record is None:
            raise
        refused = [
            {"index": i, "field": e["field"] if e["field"] != "body" else "record", "problem": e["problem"]}
            for i, errs in per_record.items()
            for e in errs
        ]
        positions = [i for i in range(len(body["records"])) if i not in per_record]
        return Judged(positions, refused, exc)


def by_record(errors: Any) -> dict[int, list[dict[str, str]]] | None:
    """A batch's validation errors per record index, or None when one is not about a single
    record (too many records, a key beside ``records``): then the batch itself is wrong."""
    out: dict[int, list[Any]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if len(loc) < 2 or loc[0] != "records" or not isinstance(loc[1], int):
            return None
        out.setdefault(loc[1], []).append({**err, "loc": loc[2:]})
    return {i: describe_errors(errs) for i, errs in sorted(out.items())}


def describe_errors(errors: Any) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field": "records[0].distance", "problem": ...}``."""
    out = []
    for err in errors:
        field = ""
        for part in err["loc"]:
            if isinstance(part, int):
                field += f"[{part}]"
            elif (
                isinstance(part, str)
                and not part.startswith(("function-", "literal[", "union["))
                and part
                not in (
                    "int",
                    "float",
                    "str",
                    "bool",
                    "none",
                    "datetime",
                )
            ):
                field += f".{part}" if field else part
        kind = err["type"]
        if kind == "missing":
            problem = "missing feature"
        elif kind == "extra_forbidden":
            problem = "unknown field (not a feature of this model)"
        elif kind == "literal_error":
            problem = f"unknown category {err.get('input')!r}"
        elif kind == "none_required" or (kind.endswith("_type") and "input" in err and err["input"] is None):
            problem = "null is not allowed here"
        elif kind in ("float_type", "int_type", "string_type", "bool_type", "datetime_type", "datetime_parsing"):
            problem = f"wrong type: {err['msg'].lower()} (got {type(err.get('input')).__name__})"
        else:
            problem = err["msg"]
        out.append({"field": field or "body", "problem": problem})
    # one line per field: unions report each alternative; keep the first
    seen, unique = set(), []
    for item in out:
        if item["field"] not in seen:
            seen.add(item["field"])
            unique.append(item)
    return unique
