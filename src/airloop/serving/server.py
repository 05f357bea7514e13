"""`airloop serve`: load the champion (or refuse to start), then run uvicorn.

Two sources, one app: ``build`` serves the champion of the workspace's MLflow registry and follows
its alias; ``build_packaged`` serves a packaged model folder (``airloop serve --model-dir DIR``,
written by ``airloop package``: see ``serving.bundle``) with no registry and no workspace, the
prediction log and the labels folder in ``--log-dir`` (a mounted volume in Kubernetes). The same
command rather than a separate entry point: the routers, guard, batcher and log are the same, and
so are the options an operator already knows (--host, --port, --access-log).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airloop.errors import EnvironmentProblem
from airloop.spec import load_spec
from airloop.workspace import Workspace

# uvicorn's exit code when it cannot start (a port in use among others): 3 is airloop's code for bad data
UVICORN_STARTUP_FAILURE = 3


def build(path: str, ws: Workspace, replica: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The app for PATH's champion. ``replica`` (--replica, $AIRLOOP_REPLICA; else
    ``serving.replica``): log into that replica's own front, claimed before the model loads."""
    # long: each alias's holder, the log and the settings of one server, in the order they can fail
    from airloop.model.store import LoadOptions
    from airloop.serving.app import create_app
    from airloop.serving.holder import ModelHolder
    from airloop.serving.schema import RecordShape
    from airloop.serving.service import ServeConfig, Service

    loaded = load_spec(path)
    spec = loaded.spec
    cfg = spec.serving
    front = _front(ws, spec.name, replica, cfg.replica)  # a name another server holds: refused at once
    import sys

    if str(loaded.root) not in sys.path:  # the feature transform's module, if the model needs it
        sys.path.insert(0, str(loaded.root))
    # how every alias loads versions: beyond the safe formats (serving.trust_pickle), on which runtime
    # ... and what records may carry besides the features (serving.passthrough, entity_id, extra_fields)
    holding = functools.partial(
        ModelHolder, ws, spec.name, spec.task, options=LoadOptions.of(spec), shape=RecordShape.of(cfg)
    )
    holder = holding(cfg.unknown_categories, cfg.max_records)
    holder.load_initial()
    shadow = None
    if cfg.shadow:  # loaded now if it exists; the poller picks it up (or drops it) as its alias moves
        shadow = holding("accept", cfg.max_records, alias=cfg.shadow, drop_when_unset=True, smoke=False)
        shadow.refresh()
    canary = None
    if cfg.canary:  # like the shadow: follows its alias, answers nothing while it is unset
        canary = holding("accept", cfg.max_records, alias=cfg.canary.alias, drop_when_unset=True)
        canary.refresh()
    token = os.environ.get(cfg.token_env) or cfg.token
    predlog = front.open(cfg.log_sync)
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
        segments=front.folder,
        replica=front.replica,
    )
    app = create_app(Service(holder, predlog, config, shadow, canary))
    app.state.claim = front.claim  # held while the app lives: dropping it would free the name
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
        "replica": front.replica,
        "segments": str(front.folder),
    }
    return app, info


@dataclass
class _Front:
    path: Path
    folder: Path
    replica: str = ""
    claim: Any = None

    def open(self, sync: str) -> Any:
        from airloop.data.predlog import PredictionLog
        from airloop.data.segments import continue_numbering

        predlog = PredictionLog(self.path, sync=sync, others=bool(self.replica))
        # a new volume under a known name, a log deleted without its segments: go on after them
        continue_numbering(self.path, self.folder, self.replica)
        return predlog


def _front(ws: Workspace, name: str, flag: str | None, spec_value: str | None) -> _Front:
    """Where this server logs: a named replica's own front, claimed (``data.replicas``), or the
    workspace's own log that several servers on one machine may share."""
    from airloop.data import replicas
    from airloop.data.segments import segments_of

    replica = replicas.resolve(flag, spec_value)
    if replica is None:
        log = ws.prediction_log(name)
        return _Front(log, segments_of(log))
    path, folder = ws.front(name, replica), ws.segments_dir(name)
    return _Front(path, folder, replica, replicas.Claim(replica, path, folder).take())


LOG_FILE = "predictions.db"  # in --log-dir, with labels/ beside it (the workspace's serving/<name>/ layout)


def build_packaged(model_dir: Path, log_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The app for a packaged model folder: no registry, no workspace, no spec file. The token
    comes only from the environment variable the packaged ``serving.token_env`` names."""
    from airloop.data.predlog import PredictionLog
    from airloop.serving import bundle
    from airloop.serving.app import create_app
    from airloop.serving.service import ServeConfig, Service

    packaged = bundle.read(model_dir)
    cfg = packaged.serving
    try:  # before the model loads: an unwritable volume is known at once
        labels_folder = log_dir / "labels"
        labels_folder.mkdir(parents=True, exist_ok=True)
        predlog = PredictionLog(log_dir / LOG_FILE, sync=cfg.log_sync)
    except OSError as exc:
        raise EnvironmentProblem(
            f"the log folder {log_dir} is not writable: {exc.strerror or exc}",
            hint="give a writable folder with --log-dir (in Kubernetes: the prediction-log volume's mount)",
        ) from None
    holder = bundle.PackagedHolder(packaged)
    holder.load_initial()
    token = os.environ.get(cfg.token_env) or None
    config = ServeConfig(token, cfg.max_body_bytes, cfg.poll_seconds, labels_folder, cfg.batch_errors)
    app = create_app(Service(holder, predlog, config))
    info = {
        "name": packaged.name,
        "version": packaged.version,
        "source": f"model folder {model_dir}",
        "auth": bool(token),
        "log": str(predlog.path),
        "labels": str(labels_folder),
        "poll_seconds": cfg.poll_seconds,
        "token_env": cfg.token_env,
        "shadow": None,
        "canary": None,
    }
    return app, info


def serve(
    path: str,
    ws: Workspace,
    host: str,
    port: int,
    access_log: bool = False,
    echo: Any = print,
    replica: str | None = None,
) -> None:
    check_port(host, port)  # before the model loads: a busy port is known in milliseconds
    _setup_logging()
    run(*build(path, ws, replica), host, port, access_log, echo)


def serve_packaged(
    model_dir: Path, log_dir: Path, host: str, port: int, access_log: bool = False, echo: Any = print
) -> None:
    check_port(host, port)
    _setup_logging()
    run(*build_packaged(model_dir, log_dir), host, port, access_log, echo)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(app: Any, info: dict[str, Any], host: str, port: int, access_log: bool = False, echo: Any = print) -> None:
    import uvicorn

    source = info.get("source", "champion")
    echo(f"serving {info['name']} v{info['version']} ({source}) on http://{host}:{port}  docs: /docs")
    if info["shadow"] is not None:
        echo(f"  shadow: challenger ({info['shadow']}) answers copies of the requests, logged, never returned")
    if info["canary"] is not None:
        echo(f"  canary ({info['canary']}) answers {info['canary_percent']:g}% of the traffic, by entity_id")
    echo(
        f"  auth: {'bearer token from $' + info['token_env'] if info['auth'] else 'off'}; "
        f"prediction log {info['log']}; labels folder {info['labels']}"
        + (f"; replica {info['replica']}, segments to {info['segments']}" if info.get("replica") else "")
        + ("" if "source" in info else f"; registry poll {info['poll_seconds']}s")
    )
    try:
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
    except SystemExit as exc:
        if exc.code != UVICORN_STARTUP_FAILURE:
            raise
        raise EnvironmentProblem(
            f"the server could not start on {host}:{port} (uvicorn's error is above)",
            hint=f"if another program took port {port} meanwhile, choose another with --port",
        ) from None


def check_port(host: str, port: int, option: str = "--port") -> None:
    """Bind ``host:port`` as uvicorn will (SO_REUSEADDR: a port in TIME_WAIT is free) and let it go:
    a port another program listens on is an environment problem (exit 8) that names the port."""
    import errno
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise EnvironmentProblem(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="give an address of this machine with --host"
        ) from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EnvironmentProblem(
                    f"port {port} on {host} is already in use",
                    hint=f"choose another with {option} <port>, or stop the program that holds it "
                    f"(`ss -ltnp 'sport = :{port}'` names it)",
                ) from None
            fix = {
                errno.EACCES: f"choose a port above 1023 with {option}",
                errno.EADDRNOTAVAIL: "give an address of this machine with --host",
            }.get(exc.errno or 0, f"choose another port with {option}")
            raise EnvironmentProblem(f"cannot listen on {host}:{port}: {exc.strerror}", hint=fix) from None
