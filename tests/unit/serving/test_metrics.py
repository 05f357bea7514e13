"""/metrics through prometheus-client: request counters and histograms, scrape-time state, process metrics."""

from __future__ import annotations

from airloop.serving.metrics import Metrics


def test_metrics_follow_prometheus_conventions_and_read_state_when_scraped() -> None:
    state = {"version": "3", "log_written": 12, "log_lag": 0.25, "log_pending": 4}
    metrics = Metrics(lambda: state)
    metrics.observe("/predict", 200, 0.002)
    metrics.observe("/predict", 200, 0.3)
    metrics.observe("/predict", 422, 0.001)
    text = metrics.render().decode()
    assert 'airloop_requests_total{path="/predict",status="200"} 2.0' in text
    assert 'airloop_requests_total{path="/predict",status="422"} 1.0' in text
    assert 'airloop_request_seconds_bucket{le="0.0025",path="/predict",status="200"} 1.0' in text or (
        'airloop_request_seconds_bucket{path="/predict",status="200",le="0.0025"} 1.0' in text
    )
    assert "airloop_model_version 3.0" in text
    assert "airloop_predictions_total 12.0" in text
    assert "airloop_prediction_log_pending 4.0" in text
    # what the client library brings: process and GC metrics
    assert "process_resident_memory_bytes" in text
    assert "python_gc_collections_total" in text
    state["version"] = "4"  # read at scrape time, not copied
    assert "airloop_model_version 4.0" in metrics.render().decode()


def test_two_apps_in_one_process_keep_separate_counts() -> None:
    a, b = Metrics(lambda: {"version": None, "log_written": 0, "log_lag": 0.0, "log_pending": 0}), None
    b = Metrics(lambda: {"version": None, "log_written": 0, "log_lag": 0.0, "log_pending": 0})
    a.observe("/labels", 200, 0.01)
    assert 'airloop_requests_total{path="/labels",status="200"} 1.0' in a.render().decode()
    assert 'path="/labels"' not in b.render().decode()
