"""Basics every domain uses: the clock, the database, errors, paging, timestamps, statuses.

Nothing here imports a domain package (`tickets`, `sla`, `sla_config`).
"""
