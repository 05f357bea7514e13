"""Before a run starts, every outside store airloop is pointed at must answer.

On the embedded default nothing here applies (SQLite files, no broker). Pointed at PostgreSQL, a
Redis or RabbitMQ broker or an MLflow server, a store that is down made a run fail 15 s later in
a driver traceback (PostgreSQL), or wait on a broker that never answers (Celery retries its
connection forever). A first exchange in the store's own protocol, with a short timeout, tells
which store does not answer, at which address, and which variable set it, before anything starts.
A bare TCP connect is not enough: a proxy or a firewall may accept a connection that nothing
answers (seen here: any address on port 6379 accepted one).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from airloop.errors import EnvironmentProblem

# what each kind of server is sent first, and how its first bytes look when it is that server
# (PostgreSQL: an SSLRequest, answered S or N; Redis: PING, answered +PONG or an -ERR such as
# NOAUTH; AMQP 0-9-1: the protocol header, answered by a method frame; MySQL greets first)
HELLO: dict[str, tuple[bytes, tuple[bytes, ...]]] = {
    "postgresql": (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", (b"S", b"N")),
    "mysql": (b"", (b"",)),
    "redis": (b"PING\r\n", (b"+PONG", b"-")),
    "amqp": (b"AMQP\x00\x00\x09\x01", (b"\x01",)),
    "http": (b"HEAD / HTTP/1.0\r\n\r\n", (b"HTTP/",)),
}
FAMILY = {
    "postgres": "postgresql",
    "mariadb": "mysql",
    "rediss": "redis",
    "pyamqp": "amqp",
    "amqps": "amqp",
    "https": "http",
}
TLS = {"rediss", "amqps", "https"}
DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "redis": 6379,
    "rediss": 6379,
    "amqp": 5672,
    "amqps": 5671,
    "pyamqp": 5672,
    "http": 80,
    "https": 443,
}


@dataclass(frozen=True)
class Store:
    what: str  # "Airflow's metadata database"
    variable: str  # the environment variable that named it
    url: str

    @property
    def address(self) -> tuple[str, int] | None:
        """Host and port, or None for a store with no network address (SQLite, a file path)."""
        parts = urlsplit(self.url)
        if self.scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        try:
            port = parts.port
        except ValueError:
            port = None
        return parts.hostname, port or DEFAULT_PORTS[self.scheme]

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.split("+")[0].lower()

    @property
    def family(self) -> str:
        return FAMILY.get(self.scheme, self.scheme)

    @property
    def shown(self) -> str:
        """The URL without its password."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()


def outside_stores(env: Mapping[str, str] | None = None) -> list[Store]:
    """The stores with a network address that this environment points airloop and Airflow at."""
    env = os.environ if env is None else env
    named = [
        ("Airflow's metadata database", "AIRLOOP_AIRFLOW_DB"),
        ("the MLflow tracking store", "AIRLOOP_MLFLOW_URI"),
        ("the Optuna study store", "AIRLOOP_OPTUNA_DB"),
    ]
    if "celery" in env.get("AIRFLOW__CORE__EXECUTOR", "").lower():
        named += [
            ("the Celery broker", "AIRFLOW__CELERY__BROKER_URL"),
            ("the Celery result backend", "AIRFLOW__CELERY__RESULT_BACKEND"),
        ]
    stores = []
    for what, variable in named:
        url = env.get(variable, "")
        if variable == "AIRFLOW__CELERY__RESULT_BACKEND" and url.startswith("db+"):
            url = url[3:]  # Celery's database backend: db+<SQLAlchemy URL>
        if url:
            stores.append(Store(what, variable, url))
    return [s for s in stores if s.address]


def unreachable(store: Store, timeout: float) -> str | None:
    """Why the store's address does not accept a connection, or None when it does."""
    host, port = store.address or ("", 0)
    hello, answers = HELLO[store.family]
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if store.scheme in TLS:
                return None  # the connection is all that can be checked without a TLS handshake
            if hello:
                sock.sendall(hello)
            first = sock.recv(16)
    except TimeoutError:
        return f"no answer in {timeout:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not first:
        return f"the connection was closed without an answer (is a {store.family} server listening there?)"
    if not first.startswith(answers):
        return f"something answered, but not a {store.family} server ({first[:8]!r})"
    return None


def check_reachable(env: Mapping[str, str] | None = None, timeout: float = 3.0) -> None:
    """Raise EnvironmentProblem naming every configured store that does not answer."""
    down = []
    for store in outside_stores(env):
        reason = unreachable(store, timeout)
        if reason:
            host, port = store.address or ("", 0)
            down.append(f"{store.what} at {host}:{port} ({store.variable}={store.shown}): {reason}")
    if down:
        raise EnvironmentProblem(
            "not started: " + ("; ".join(down) if len(down) == 1 else "\n  " + "\n  ".join(down)),
            hint="start the service or point the variable at one that runs; unset it to use the embedded "
            "default (SQLite in the workspace, no broker)",
        )
