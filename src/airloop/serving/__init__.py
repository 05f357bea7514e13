"""Serving the champion over HTTP: contract-typed requests, hot swap, durable prediction log."""
