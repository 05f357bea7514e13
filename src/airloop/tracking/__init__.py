"""MLflow, the way airloop uses it: a thin facade over MlflowClient (client.py), every tag and alias
name (tags.py), and the one place aliases move (aliases.py)."""

from airloop.tracking.client import Tracker

__all__ = ["Tracker"]
