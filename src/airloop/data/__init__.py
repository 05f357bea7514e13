"""Data shared across the loop: sources and fingerprints, the data contract, and the prediction log
(written by serving, read by monitoring: it lives here so that neither imports the other)."""
