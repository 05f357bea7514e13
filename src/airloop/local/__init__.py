"""The embedded stack on one machine: dag.test runs, `airflow standalone` + the server, its REST client,
its state files, and the pieces a scripted demo drives the live loop with."""
