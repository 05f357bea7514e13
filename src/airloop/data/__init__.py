"""Reading data sources, fingerprinting them, and the data contract."""
