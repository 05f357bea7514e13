"""The service's routes, one router per concern: predict, labels, ops (health, model, metrics), admin."""
