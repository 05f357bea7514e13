"""Where a run's Optuna studies live, what they are called, and what keeps their trials honest.

Embedded: SQLite in the run's folder, which only one machine can share. With a server database
for Airflow (Celery workers on several machines) or ``$AIRLOOP_OPTUNA_DB``, the studies live in
that database instead, one name per DAG run, and their trials send heartbeats: a trial whose
worker died is failed once its heartbeat is stale and queued again (at most ``MAX_RETRY`` times),
instead of staying RUNNING. ``fail_running`` closes what is left when the run's batches are over.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from typing import Any

from airloop.errors import EnvironmentProblem
from airloop.steps.context import StepContext
from airloop.workspace import OPTUNA_DB_ENV

log = logging.getLogger("airloop.steps")

# Optuna keeps an alembic_version table, as Airflow and MLflow do: on PostgreSQL its tables go to a
# schema of their own (set in the URL, so Optuna's own `optuna storage upgrade` finds them too).
SCHEMA = "airloop_optuna"
HEARTBEAT_ENV = "AIRLOOP_OPTUNA_HEARTBEAT_SECONDS"
HEARTBEAT_SECONDS = 10
# Stale after this many missed heartbeats. Optuna's default is 2; a fit holding the GIL on a busy
# machine delays the heartbeat thread, and a live trial failed by mistake fails its batch when it
# reports its value.
GRACE_INTERVALS = 3
MAX_RETRY = 2  # a trial that keeps killing its worker is not queued forever

# user attributes of each trial: which batch ran it (a retried batch runs only what it still owes)
# and where (host:pid, to find the worker a trial ran on)
BATCH_ATTR = "airloop_batch"
WORKER_ATTR = "airloop_worker"


def storage(ctx: StepContext) -> Any:
    """The study storage shared by every batch of this DAG run."""
    url = ctx.workspace.optuna_db_url
    if url is None:
        return sqlite_storage(f"sqlite:///{ctx.run_dir / 'optuna.db'}")
    if url.startswith("sqlite"):
        return sqlite_storage(url)
    return shared_storage(url)


def study_name(ctx: StepContext, candidate: str) -> str:
    if ctx.workspace.optuna_db_url is None:
        return f"candidate-{candidate}"  # a file per run: the candidate is enough
    return f"{ctx.project}/{ctx.run_id}/candidate-{candidate}"  # one database for every run


def sqlite_storage(url: str) -> Any:
    """Optuna's RDB storage on SQLite with every transaction BEGIN IMMEDIATE.

    Batches run at once on a LocalExecutor or Celery workers. Optuna takes a waiting (enqueued)
    trial with SELECT ... FOR UPDATE, which SQLite ignores: two batches could both take the
    default trial, and the second to finish failed with "Cannot tell a COMPLETE trial" (seen in
    CI; reproduced 8 rounds in 15 with 4 processes asking at once). An immediate transaction holds
    SQLite's write lock from its first read, so the second batch sees the trial already running.
    """
    import optuna
    from sqlalchemy import event

    # isolation_level=None: pysqlite opens no transaction of its own, SQLAlchemy's begin does;
    # timeout: wait for the lock instead of failing while another batch writes
    engine_kwargs = {"connect_args": {"timeout": 60, "isolation_level": None}}
    created = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)

    @event.listens_for(created.engine, "begin")
    def _immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return created


@functools.cache  # one engine per process: every batch and candidate reuses its connections
def shared_storage(url: str) -> Any:
    """Optuna's RDB storage on a server database, with heartbeats and retried stale trials."""
    import warnings

    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    url = own_schema(url)
    interval = heartbeat_seconds()
    try:
        with warnings.catch_warnings():  # heartbeats and their retry callback are "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=_connect_kwargs(url),
                heartbeat_interval=interval,
                grace_period=GRACE_INTERVALS * interval,
                **_retry_stale(),
            )
    except SQLAlchemyError as exc:
        raise _unreachable(url, exc) from exc


def _connect_kwargs(url: str) -> dict[str, Any]:
    """A host that does not answer fails the connection in 10 s instead of hanging the task (libpq
    waits forever by default); the error then names the database."""
    return {"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {}


def _retry_stale() -> dict[str, Any]:
    import optuna

    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry is None:  # Optuna before 4.9 names it the failed-trial callback
        return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=MAX_RETRY)}
    return {"heartbeat_stale_trial_callback": retry(max_retry=MAX_RETRY)}


def own_schema(url: str) -> str:
    """``url`` with PostgreSQL's search_path set to ``SCHEMA`` (created if missing); other databases as given."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        if not os.environ.get(OPTUNA_DB_ENV):
            raise EnvironmentProblem(
                f"Optuna's tables cannot share Airflow's {parsed.get_backend_name()} database "
                "(both keep an alembic_version table)",
                hint=f"set {OPTUNA_DB_ENV} to a database of Optuna's own",
            )
        return url  # a database the user gave Optuna
    if "options" in parsed.query:  # the URL sets its own search_path
        return url
    _create_schema(url)
    return parsed.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(hide_password=False)


def _create_schema(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, **_connect_kwargs(url))
    try:
        with engine.begin() as con:
            con.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    except (IntegrityError, ProgrammingError):
        pass  # another batch created it at the same moment (IF NOT EXISTS does not lock)
    except SQLAlchemyError as exc:
        raise _unreachable(url, exc) from exc
    finally:
        engine.dispose()


def _unreachable(url: str, exc: Exception) -> EnvironmentProblem:
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return EnvironmentProblem(
        f"the Optuna study database {shown} cannot be used: {reason}",
        hint=f"start the database or point {OPTUNA_DB_ENV} (else AIRLOOP_AIRFLOW_DB) at one every worker reaches",
    )


def heartbeat_seconds() -> int:
    return max(1, int(os.environ.get(HEARTBEAT_ENV) or HEARTBEAT_SECONDS))


def mark(trial: Any, batch_index: int) -> None:
    trial.set_user_attr(BATCH_ATTR, batch_index)
    trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")


def owed(study: Any, batch: dict[str, Any]) -> int:
    """Trials this batch still has to run: a retry (its worker died, or the batch failed) does not
    run again the ones its earlier tries finished, so retries never add to the study's trials."""
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    trials = study.get_trials(deepcopy=False, states=finished)
    done = sum(1 for t in trials if t.user_attrs.get(BATCH_ATTR) == batch["index"])
    return max(0, batch["trials"] - done)


def capped(total: int) -> Any:
    """A callback that stops a batch once the study holds ``total`` finished trials: the spec's count
    holds even when a lost worker's batch goes on running beside its retry (a network partition)."""
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return optuna.study.MaxTrialsCallback(total, states=finished)


def fail_running(study: Any, candidate: str) -> list[int]:
    """Fail the trials still RUNNING once every batch has ended: none can be running then, so each
    lost its worker within the heartbeat's grace period (or ran where heartbeats are off)."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        try:
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # it finished meanwhile
        failed.append(t.number)
        log.warning(
            "trial %d of candidate %s was still RUNNING after every batch ended (last on %s): marked FAIL",
            t.number,
            candidate,
            t.user_attrs.get(WORKER_ATTR, "an unknown worker"),
        )
    return failed
