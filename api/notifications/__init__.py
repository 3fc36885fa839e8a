"""Notifications: the outbox of deliveries, the worker that sends them, and their endpoints."""
