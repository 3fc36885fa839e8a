"""The schema is built by Alembic alone, and every migration can be undone."""

from alembic import command
from sqlalchemy import create_engine, inspect, text

from api.kit import database
from tests.conftest import fresh_database


def _tables(url: str) -> set[str]:
    engine = create_engine(database.sqlalchemy_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_empty_database_upgrades_to_head_downgrades_to_base_and_upgrades_again(server_url: str) -> None:
    url = fresh_database(server_url, "sla_migrations_test")
    config = database.alembic_config(url)

    command.upgrade(config, "head")
    assert {"tickets", "ticket_snapshots", "sla_events", "sla_config_versions"} <= _tables(url)
    engine = database.make_engine(url, pool_size=1)
    assert database.schema_is_current(engine)
    engine.dispose()

    command.downgrade(config, "base")
    assert _tables(url) == {"alembic_version"}

    command.upgrade(config, "head")
    assert "sla_events" in _tables(url)


def test_the_models_and_the_migrations_describe_the_same_schema(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.kit.database import Base

    engine = create_engine(database.sqlalchemy_url(database_url))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        trigger = connection.execute(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'sla_events_append_only'")
        ).scalar_one()
    engine.dispose()
    assert differences == []
    assert trigger == 1
