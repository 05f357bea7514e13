"""The stages of the loop as plain functions. Nothing here imports Airflow.

Each stage module exposes ``run(ctx, refs) -> dict``: ``refs`` holds references produced by the
stages before it (URIs, ids, small dicts) and the returned dict adds to them.
"""

STAGES = ("ingest", "validate", "split", "tune", "train", "evaluate", "gate", "register", "promote")
