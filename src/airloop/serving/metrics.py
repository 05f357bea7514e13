"""Prometheus metrics of the service, through prometheus-client.

One registry per app (tests run several apps in one process): request counts and latency by
path and status, the served model version, the prediction log's throughput and lag, plus the
client library's process, platform and GC collectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        """``state`` returns, at scrape time: version, log_written, log_lag, log_pending, shadow (or None)."""
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.requests = Counter(
            "airloop_requests", "HTTP requests by path and status.", ("path", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "airloop_request_seconds", "Request latency.", ("path", "status"), buckets=BUCKETS, registry=self.registry
        )
        self.refused = Counter(
            "airloop_refused_records",
            "Records of a batch refused by the data contract while the others were answered.",
            registry=self.registry,
        )
        self.ignored = Counter(
            "airloop_ignored_fields",
            "Fields of answered records that are neither a feature nor named by serving.passthrough or "
            "serving.entity_id: ignored (serving.extra_fields: ignore).",
            registry=self.registry,
        )
        self.labels = Counter(
            "airloop_labels",
            "Labels by source (api, file) and outcome: recorded, refused by the checks, or naming a request id "
            "never issued (counted, not stored).",
            ("source", "outcome"),
            registry=self.registry,
        )
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.registry.register(_ServingState(state))

    def observe(self, path: str, status: int, seconds: float) -> None:
        series = self._series.get((path, status))
        if series is None:  # the client's labels() lookup takes a lock and builds a key per call
            code = str(status)
            series = self._series[(path, status)] = (self.requests.labels(path, code), self.latency.labels(path, code))
        series[0].inc()
        series[1].observe(seconds)

    def count_labels(self, source: str, recorded: int, refused: int, unknown: int) -> None:
        for outcome, n in (("recorded", recorded), ("refused", refused), ("unknown_request_id", unknown)):
            if n:
                self.labels.labels(source, outcome).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ServingState(Collector):
    """Values read when scraped, not kept twice: the model version and the prediction log's state."""

    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        s = self.state()
        yield GaugeMetricFamily(
            "airloop_model_version", "Registry version of the model being served.", value=float(s["version"] or 0)
        )
        yield CounterMetricFamily("airloop_predictions", "Records predicted and logged.", value=s["log_written"])
        yield GaugeMetricFamily(
            "airloop_prediction_log_lag_seconds",
            "Age of the oldest prediction not yet committed to the log.",
            value=s["log_lag"],
        )
        yield GaugeMetricFamily(
            "airloop_prediction_log_pending", "Records waiting to be committed to the log.", value=s["log_pending"]
        )
        shadow = s.get("shadow")
        if shadow is not None:
            for key, text in (
                ("answered", "Records the shadow model answered (logged beside the champion's)."),
                ("failed", "Records the shadow model failed on (no client saw it)."),
                ("dropped", "Records not shadowed because the shadow queue was full."),
            ):
                yield CounterMetricFamily(f"airloop_shadow_{key}", text, value=shadow[key])
