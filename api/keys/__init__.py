"""Access control: API keys with scopes, the one dependency every route passes, and `python -m api.keys`."""
