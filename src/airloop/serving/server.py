"""`airloop serve`: load the champion (or refuse to start), then run uvicorn."""

from __future__ import annotations

import logging
import os
from typing import Any

from airloop.spec import load_spec
from airloop.workspace import Workspace


def build(path: str, ws: Workspace) -> tuple[Any, dict[str, Any]]:
    from airloop.data.predlog import PredictionLog
    from airloop.serving.app import create_app
    from airloop.serving.holder import ModelHolder
    from airloop.serving.service import ServeConfig, Service

    loaded = load_spec(path)
    spec = loaded.spec
    cfg = spec.serving
    import sys

    if str(loaded.root) not in sys.path:  # the feature transform's module, if the model needs it
        sys.path.insert(0, str(loaded.root))
    holder = ModelHolder(ws, spec.name, spec.task, cfg.unknown_categories, cfg.max_records)
    holder.load_initial()
    shadow = None
    if cfg.shadow:  # loaded now if it exists; the poller picks it up (or drops it) as its alias moves
        shadow = ModelHolder(
            ws, spec.name, spec.task, "accept", cfg.max_records, alias=cfg.shadow, drop_when_unset=True, smoke=False
        )
        shadow.refresh()
    canary = None
    if cfg.canary:  # like the shadow: follows its alias, answers nothing while it is unset
        canary = ModelHolder(
            ws, spec.name, spec.task, "accept", cfg.max_records, alias=cfg.canary.alias, drop_when_unset=True
        )
        canary.refresh()
    token = os.environ.get(cfg.token_env) or cfg.token
    predlog = PredictionLog(ws.prediction_log(spec.name), sync=cfg.log_sync)
    labels_folder = ws.labels_folder(spec.name)
    labels_folder.mkdir(parents=True, exist_ok=True)
    config = ServeConfig(
        token,
        cfg.max_body_bytes,
        cfg.poll_seconds,
        labels_folder,
        cfg.batch_errors,
        cfg.shadow_share,
        cfg.canary.percent if cfg.canary else 0.0,
        root=loaded.root,
    )
    app = create_app(Service(holder, predlog, config, shadow, canary))
    info = {
        "name": spec.name,
        "version": holder.current.version if holder.current else None,
        "auth": bool(token),
        "log": str(predlog.path),
        "labels": str(labels_folder),
        "poll_seconds": cfg.poll_seconds,
        "token_env": cfg.token_env,
        "shadow": None if shadow is None else (f"v{shadow.current.version}" if shadow.current else "no version yet"),
        "canary": None if canary is None else (f"v{canary.current.version}" if canary.current else "no version yet"),
        "canary_percent": cfg.canary.percent if cfg.canary else 0,
    }
    return app, info


def serve(path: str, ws: Workspace, host: str, port: int, access_log: bool = False, echo: Any = print) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app, info = build(path, ws)
    echo(f"serving {info['name']} v{info['version']} (champion) on http://{host}:{port}  docs: /docs")
    if info["shadow"] is not None:
        echo(f"  shadow: challenger ({info['shadow']}) answers copies of the requests, logged, never returned")
    if info["canary"] is not None:
        echo(f"  canary ({info['canary']}) answers {info['canary_percent']:g}% of the traffic, by entity_id")
    echo(
        f"  auth: {'bearer token from $' + info['token_env'] if info['auth'] else 'off'}; "
        f"prediction log {info['log']}; labels folder {info['labels']}; registry poll {info['poll_seconds']}s"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
