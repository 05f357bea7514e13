"""Monitoring: drift statistics against the champion's training reference, live performance, reports.

Import-light like the rest of the package: numpy, pandas and scipy load inside functions only.
"""
