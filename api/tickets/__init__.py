"""Ticket snapshots: ingestion, history and the read API."""
