"""A small client for Airflow's REST API v2 (httpx, token auth), as `airloop up` started it."""

from __future__ import annotations

import time
from typing import Any

import httpx

from airloop.errors import EnvironmentProblem
from airloop.local import state
from airloop.workspace import Workspace

FINISHED = ("success", "failed")


class AirflowAPI:
    def __init__(self, base: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.http = httpx.Client(base_url=self.base, timeout=timeout)
        token = self._call("POST", "/auth/token", {"username": username, "password": password})["access_token"]
        self.http.headers["authorization"] = f"Bearer {token}"

    @classmethod
    def for_workspace(cls, ws: Workspace) -> AirflowAPI:
        info = state.read_stack(ws)
        if info is None:
            raise EnvironmentProblem(f"no stack is up in {ws.root}", hint="start it with `airloop up PATH`")
        return cls(info["airflow"], state.ADMIN, state.admin_password(ws))

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            resp = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise EnvironmentProblem(
                f"cannot reach Airflow at {self.base}: {exc}", hint="start the stack with `airloop up PATH`"
            ) from None
        if resp.is_error:
            raise EnvironmentProblem(
                f"Airflow API {method} {path} answered {resp.status_code}: {resp.text[:500]}",
                hint="check `airloop status` and the standalone log",
            )
        return resp.json() if resp.content else None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._call("PATCH", path, body)

    def waiting_for_decision(self, dag_id: str) -> list[dict[str, Any]]:
        """Tasks of ``dag_id`` waiting for a person (human-in-the-loop), oldest first."""
        out = self.get(f"/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails?response_received=false")
        details = [d for d in out.get("hitl_details", []) if d["task_instance"]["state"] == "awaiting_input"]
        return sorted(details, key=lambda d: d.get("created_at") or "")

    def answer(self, detail: dict[str, Any], options: list[str], params: dict[str, Any]) -> dict[str, Any]:
        ti = detail["task_instance"]
        path = (
            f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/"
            f"{ti.get('map_index', -1)}/hitlDetails"
        )
        return dict(self.patch(path, {"chosen_options": options, "params_input": params}))

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/api/v2/dags?limit=1000")["dags"]}

    def runs(self, dag_id: str, limit: int = 5) -> list[dict[str, Any]]:
        out = self.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit={limit}")
        return list(out.get("dag_runs", []))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")
        return list(out.get("task_instances", []))

    def run_ids(self, dag_id: str, limit: int = 50) -> set[str]:
        return {r["dag_run_id"] for r in self.runs(dag_id, limit=limit)}

    def wait_for_new_run(self, dag_id: str, seen: set[str], timeout: float = 600) -> dict[str, Any]:
        """The first finished run of ``dag_id`` whose id is not in ``seen``."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for run in self.runs(dag_id, limit=10):
                if run["dag_run_id"] not in seen and run["state"] in FINISHED:
                    return run
            time.sleep(1.0)
        raise EnvironmentProblem(f"no new {dag_id} run finished within {timeout:.0f}s", hint="see the standalone log")

    def wait_idle(self, dag_id: str, timeout: float = 600) -> None:
        """Until no run of ``dag_id`` is queued or running."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(r["state"] in FINISHED for r in self.runs(dag_id, limit=10)):
                return
            time.sleep(1.0)
        raise EnvironmentProblem(f"{dag_id} still has runs going after {timeout:.0f}s", hint="see the standalone log")

    def wait_for_dags(self, dag_ids: set[str], timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if dag_ids <= self.dag_ids():
                return
            time.sleep(1)
        raise EnvironmentProblem(
            f"Airflow did not load {', '.join(sorted(dag_ids))} within {timeout:.0f}s",
            hint="see the standalone log and GET /api/v2/importErrors",
        )

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def clear_from(self, dag_id: str, run_id: str, task_id: str) -> list[str]:
        """Clear ``task_id`` and everything downstream of it in one DAG run, for real: the endpoint
        defaults to a dry run of failed tasks only."""
        body = {
            "dry_run": False,
            "only_failed": False,
            "task_ids": [task_id],
            "dag_run_id": run_id,
            "include_downstream": True,
            "include_upstream": False,
            "reset_dag_runs": True,
        }
        out = self.post(f"/api/v2/dags/{dag_id}/clearTaskInstances", body)
        return sorted({ti["task_id"] for ti in out.get("task_instances", [])})
