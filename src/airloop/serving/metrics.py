"""Prometheus text for the service: requests and latency by path and status, model version,
prediction-log lag. Plain counters: one process, one event loop, no client library needed."""

from __future__ import annotations

import time
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.count: dict[tuple[str, int], int] = defaultdict(int)
        self.sum: dict[tuple[str, int], float] = defaultdict(float)
        self.buckets: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.predictions = 0
        self.started = time.time()

    def observe(self, path: str, status: int, seconds: float) -> None:
        key = (path, status)
        self.count[key] += 1
        self.sum[key] += seconds
        counts = self.buckets[key]
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1

    def render(self, version: str | None, log_lag: float, log_pending: int, log_written: int) -> str:
        out = [
            "# HELP airloop_requests_total HTTP requests by path and status.",
            "# TYPE airloop_requests_total counter",
        ]
        for (path, status), n in sorted(self.count.items()):
            out.append(f'airloop_requests_total{{path="{path}",status="{status}"}} {n}')
        out += ["# HELP airloop_request_seconds Request latency.", "# TYPE airloop_request_seconds histogram"]
        for (path, status), counts in sorted(self.buckets.items()):
            labels = f'path="{path}",status="{status}"'
            for bound, c in zip(BUCKETS, counts, strict=True):
                out.append(f'airloop_request_seconds_bucket{{{labels},le="{bound}"}} {c}')
            out.append(f'airloop_request_seconds_bucket{{{labels},le="+Inf"}} {self.count[(path, status)]}')
            out.append(f"airloop_request_seconds_sum{{{labels}}} {self.sum[(path, status)]:.6f}")
            out.append(f"airloop_request_seconds_count{{{labels}}} {self.count[(path, status)]}")
        out += [
            "# HELP airloop_model_version Registry version of the model being served.",
            "# TYPE airloop_model_version gauge",
            f"airloop_model_version {version or 0}",
            "# HELP airloop_predictions_total Records predicted and logged.",
            "# TYPE airloop_predictions_total counter",
            f"airloop_predictions_total {log_written}",
            "# HELP airloop_prediction_log_lag_seconds Age of the oldest prediction not yet committed to the log.",
            "# TYPE airloop_prediction_log_lag_seconds gauge",
            f"airloop_prediction_log_lag_seconds {log_lag:.6f}",
            "# HELP airloop_prediction_log_pending Records waiting to be committed to the log.",
            "# TYPE airloop_prediction_log_pending gauge",
            f"airloop_prediction_log_pending {log_pending}",
        ]
        return "\n".join(out) + "\n"
