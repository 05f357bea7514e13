"""A thin facade over MlflowClient: experiments, runs, the registry, aliases and lineage tags."""

from airloop.tracking.client import Tracker

__all__ = ["Tracker"]
