"""Benchmarks of the SLA monitor against the real API process on real PostgreSQL: `python -m bench`."""
