"""A small client for Airflow's REST API v2, as `airloop up` started it (token auth as admin)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from airloop.errors import EnvironmentProblem
from airloop.runtime.workspace import Workspace


class AirflowAPI:
    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.token = self._call("POST", "/auth/token", {"username": username, "password": password}, auth=False)[
            "access_token"
        ]

    @classmethod
    def for_workspace(cls, ws: Workspace) -> AirflowAPI:
        from airloop.runtime.stack import admin_password, run_dir

        state = run_dir(ws) / "stack.json"
        if not state.exists():
            raise EnvironmentProblem(f"no stack is up in {ws.root}", hint="start it with `airloop up PATH`")
        base = json.loads(state.read_text())["airflow"]
        return cls(base, "admin", admin_password(ws)[0])

    def _call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"content-type": "application/json"}
        if auth:
            headers["authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise EnvironmentProblem(
                f"Airflow API {method} {path} answered {exc.code}: {detail}",
                hint="check `airloop status` and the standalone log",
            ) from None
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot reach Airflow at {self.base}: {exc}", hint="start the stack with `airloop up PATH`"
            ) from None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._call("PATCH", path, body)

    def runs(self, dag_id: str, limit: int = 5) -> list[dict[str, Any]]:
        out = self.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit={limit}")
        return list(out.get("dag_runs", []))

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
