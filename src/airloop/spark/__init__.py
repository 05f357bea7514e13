"""The Spark engine (``engine: spark``): read and prepare the data, judge it against the contract
with aggregates, sample what the candidates train on, and score per partition. PySpark is an extra;
nothing here is imported unless a spec asks for Spark."""
