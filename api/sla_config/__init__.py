"""The SLA configuration file: schema, loading, versions and hot reload."""
