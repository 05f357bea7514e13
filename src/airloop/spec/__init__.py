"""airloop.yaml: schema, loader and checks."""

from airloop.spec.loader import LoadedSpec, load_spec
from airloop.spec.models import Spec

__all__ = ["LoadedSpec", "Spec", "load_spec"]
