"""The DAG run's note: the run's outcome in one line (``steps.story``), where Airflow users look
(the run's details in the Grid view; REST ``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}`` field
``note``).

In Airflow 3 a task may not use the metadata DB and the Task SDK has no call that sets a note (only
a new run's note, at trigger time), so a task sets it through the public REST API,
``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`` ``{"note": ...}``, when it knows where the API is
and as whom to call it: ``AIRLOOP_AIRFLOW_API`` with ``AIRLOOP_AIRFLOW_USERNAME`` and
``AIRLOOP_AIRFLOW_PASSWORD`` on a deployment of your own; under `airloop up` the stack's API
(``AIRFLOW__API__BASE_URL``) and its SimpleAuthManager user. `airloop run` (dag.test, no API server)
sets it through the ORM once the run is over, outside any task (``set_after_test``).
Best effort throughout: telling the outcome never fails a task.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("airloop.airflow.notes")
API_ENV, USER_ENV, PASSWORD_ENV = "AIRLOOP_AIRFLOW_API", "AIRLOOP_AIRFLOW_USERNAME", "AIRLOOP_AIRFLOW_PASSWORD"
TIMEOUT = 3.0


def credentials() -> tuple[str, str, str] | None:
    """(API base URL, user, password), or None when this process knows no API to tell."""
    base = os.environ.get(API_ENV) or os.environ.get("AIRFLOW__API__BASE_URL")
    if not base:
        return None
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user and password:
        return base, user, password
    users = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "")
    file = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    name = users.split(",")[0].split(":")[0].strip()
    if not (name and file and Path(file).exists()):
        return None
    password = json.loads(Path(file).read_text()).get(name)
    return (base, name, password) if password else None


def set_note(dag_id: str, run_id: str, text: str) -> bool:
    """PATCH the run's note; True when Airflow took it."""
    import httpx

    found = credentials()
    if found is None:
        return False
    base, user, password = found
    try:
        with httpx.Client(base_url=base.rstrip("/"), timeout=TIMEOUT) as http:
            auth = http.post("/auth/token", json={"username": user, "password": password})
            auth.raise_for_status()
            headers = {"authorization": f"Bearer {auth.json()['access_token']}"}
            resp = http.patch(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", json={"note": text}, headers=headers)
            resp.raise_for_status()
        return True
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("could not set the run's note through %s: %s", base, exc)
        return False


def set_after_test(dag_run: Any, events_file: str | None) -> str | None:
    """After dag.test(): the outcome of this run's events as its note, through the ORM (this is the
    process that ran the DAG, not a task). Returns the note."""
    from airloop.steps.story import outcome

    if not events_file or not Path(events_file).exists():
        return None
    events = [json.loads(line) for line in Path(events_file).read_text().splitlines() if line.strip()]
    text = outcome([e for e in events if e.get("run_id") == dag_run.run_id])
    if not text:
        return None
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            run = session.get(DagRun, dag_run.id)
            if run is not None:
                run.note = text
    except Exception as exc:
        log.warning("could not set the run's note: %s", exc)
        return None
    return text
