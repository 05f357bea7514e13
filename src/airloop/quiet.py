"""Library noise an airloop user cannot act on, filtered once per process (the CLI and each step).

Each entry is a message we checked and answered in airloop itself, so printing it only buries the
lines that matter (`airloop backtest` printed one MLflow warning per training between its own):
- MLflow warns on every cloudpickle log (tests still register old-format versions on purpose), and
  says it checks the input example at every log: airloop checks the stored model itself
  (model/store.py), then logs it.
- MLflow's integer-schema hint: airloop validates requests against the data contract, not MLflow's
  signature, and builds the request frame itself (numeric features as float64).
- MLflow's "Creating initial MLflow database tables" on a new workspace is setup, not news.
Anything else still shows.
"""

from __future__ import annotations

import logging
import warnings

LOG_MESSAGES = {  # logger -> the start of a message that logger may drop
    "mlflow.sklearn": ("Saving scikit-learn models in the pickle or cloudpickle format",),
    "mlflow.pyfunc": ("Validating input example against model signature",),
    "mlflow.store.db.utils": ("Creating initial MLflow database tables", "Updating database tables"),
}
WARNINGS = (r"Hint: Inferred schema contains integer column",)

_done = False


class _Drop(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


def quiet_libraries() -> None:
    """Install the filters (idempotent; cheap: imports nothing)."""
    global _done
    if _done:
        return
    _done = True
    for name, starts in LOG_MESSAGES.items():
        logging.getLogger(name).addFilter(_Drop(starts))
    for pattern in WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
