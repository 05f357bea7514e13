"""The names the plan gives: DAG ids and asset URIs of a project. Spelled here only."""

from __future__ import annotations

DAG_KINDS = ("train", "monitor", "score")


def dag_id(project: str, kind: str) -> str:
    if kind not in DAG_KINDS:
        raise ValueError(f"no {kind!r} DAG; kinds: {', '.join(DAG_KINDS)}")
    return f"{project}__{kind}"


def train_dag_id(project: str) -> str:
    return dag_id(project, "train")


def monitor_dag_id(project: str) -> str:
    return dag_id(project, "monitor")


def score_dag_id(project: str) -> str:
    return dag_id(project, "score")


def dag_ids(project: str, score: bool = False) -> tuple[str, ...]:
    """The project's DAGs; the score DAG exists only with scoring.incoming (``score``)."""
    return tuple(dag_id(project, k) for k in DAG_KINDS if k != "score" or score)


NEW_DATA = "new-data"


def new_data_asset(project: str) -> str:
    """The asset whose event (a _READY marker in data.incoming) starts a train run."""
    return f"airloop://{project}/{NEW_DATA}"


def labels_asset(project: str) -> str:
    """The asset whose event (a _READY marker in the labels folder) starts a monitor run."""
    return f"airloop://{project}/labels"


def retrain_asset(project: str) -> str:
    """The asset the monitor emits when its policy asks for retraining; the train DAG listens."""
    return f"airloop://{project}/retrain-requested"


TO_SCORE = "to-score"


def score_asset(project: str) -> str:
    """The asset whose event (a _READY marker in scoring.incoming) starts a score run."""
    return f"airloop://{project}/{TO_SCORE}"
