"""Answering records with a registered model: the frame it was trained on, one pass through its
pipeline, and the smoke test every version passes before it may answer anyone."""
