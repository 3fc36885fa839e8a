"""The FastAPI application, served by `python -m api` (uvicorn with the service's HTTP protocol).

The lifespan resolves the database (embedded when DATABASE_URL is unset), applies migrations,
loads the SLA config, starts its watcher, the evaluator, the listener that relays NOTIFYs to the
event streams and the notification worker, and stops them in reverse order.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import sessionmaker

from api import health
from api.kit import database, embedded_postgres, errors, logs
from api.kit.channels import DELIVERIES_CHANNEL, EVENTS_CHANNEL
from api.kit.edge import RequestEdge
from api.kit.listener import Listener
from api.notifications import router as notifications_router
from api.notifications.worker import DeliveryWorker
from api.settings import Settings, get_settings
from api.sla import router as sla_router
from api.sla.evaluator import Evaluator
from api.sla_config import router as config_router
from api.sla_config.store import ActiveConfig, ConfigStore
from api.sla_config.watcher import ConfigWatcher
from api.streams import router as streams_router
from api.streams.broadcaster import Broadcaster
from api.tickets import router as tickets_router
from api.tickets.schemas import SnapshotIn


async def _start_live_parts(app: FastAPI, settings: Settings, url: str, store: ConfigStore) -> AsyncExitStack:
    """The process's LISTEN connection, the event broadcaster of the streams, and the delivery worker."""
    stack = AsyncExitStack()
    pool = database.make_async_pool(url, max_size=4)
    await pool.open()
    stack.push_async_callback(pool.close)
    listener = Listener(database.libpq_url(url))
    broadcaster = Broadcaster(pool)
    listener.subscribe(EVENTS_CHANNEL, broadcaster.announce)
    worker = None
    if settings.sla_notifications_enabled:
        worker = DeliveryWorker(
            pool=pool,
            store=store,
            timeout_seconds=settings.sla_notification_timeout_seconds,
            dashboard_url=settings.sla_dashboard_url,
        )
        listener.subscribe(DELIVERIES_CHANNEL, worker.wake)
        loop = asyncio.get_running_loop()
        wake = worker.wake

        def wake_on_change(_: ActiveConfig) -> None:
            loop.call_soon_threadsafe(wake)

        store.on_change(wake_on_change)
    await broadcaster.start()
    stack.push_async_callback(broadcaster.stop)
    listener.start()
    stack.push_async_callback(listener.stop)
    if worker is not None:
        worker.start()
        stack.push_async_callback(worker.stop)
    app.state.broadcaster = broadcaster
    app.state.delivery_worker = worker
    return stack


def _lifespan(settings: Settings) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure()
        url = database.resolve_database_url(settings)
        database.migrate(url)
        engine = database.make_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        ingest_pool = database.make_async_pool(url)
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
        live = await _start_live_parts(app, settings, url, store)
        try:
            yield
        finally:
            await live.aclose()
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
    app.include_router(notifications_router.router)
    app.include_router(streams_router.router)
    app.include_router(health.router)
    app.add_middleware(
        RequestEdge,
        max_body_bytes=settings.sla_max_body_bytes,
        memory_budget_bytes=settings.sla_body_memory_budget_bytes,
    )
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
