"""The FastAPI application: `uvicorn api.main:app`.

The lifespan resolves the database (embedded when DATABASE_URL is unset), applies migrations,
loads the SLA config, starts its watcher and the evaluator, and stops them in reverse order.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import sessionmaker

from api import health
from api.kit import database, embedded_postgres, errors, logs
from api.kit.body_limit import BodyLimit
from api.settings import Settings, get_settings
from api.sla import router as sla_router
from api.sla.evaluator import Evaluator
from api.sla_config import router as config_router
from api.sla_config.store import ConfigStore
from api.sla_config.watcher import ConfigWatcher
from api.tickets import router as tickets_router
from api.tickets.schemas import SnapshotIn


def _lifespan(settings: Settings) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure()
        url = database.resolve_database_url(settings)
        database.migrate(url)
        engine = database.make_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        ingest_pool = database.make_ingest_pool(url)
        await ingest_pool.open()
        store = ConfigStore(path=settings.sla_config_path, sessions=sessions)
        store.load_initial()
        watcher = ConfigWatcher(store, polling=settings.sla_config_polling)
        watcher.start()
        evaluator = None
        if settings.sla_evaluator_enabled:
            evaluator = Evaluator(
                database_url=database.libpq_url(url),
                sessions=sessions,
                store=store,
                sweep_interval_seconds=settings.sla_sweep_interval_seconds,
                leader_retry_seconds=settings.sla_leader_retry_seconds,
            )
            evaluator.start()
        app.state.engine = engine
        app.state.sessions = sessions
        app.state.ingest_pool = ingest_pool
        app.state.config_store = store
        app.state.evaluator = evaluator
        try:
            yield
        finally:
            if evaluator is not None:
                evaluator.stop()
            watcher.stop()
            await ingest_pool.close()
            engine.dispose()
            if not settings.database_url:
                embedded_postgres.release()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="SLA monitor",
        version="1.0.0",
        summary="SLA clocks, alerts and breaches of customer-support tickets",
        lifespan=_lifespan(settings),
    )
    errors.install(app)
    app.include_router(tickets_router.router)
    app.include_router(sla_router.router)
    app.include_router(config_router.router)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, max_bytes=settings.sla_max_body_bytes)
    app.openapi = _openapi_with_batch_schema(app)  # type: ignore[method-assign]
    return app


def _openapi_with_batch_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated schema, plus the snapshot model that POST /tickets reads from the raw body."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["SnapshotIn"] = SnapshotIn.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


app = create_app()
