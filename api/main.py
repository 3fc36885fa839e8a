"""The FastAPI application, served by `python -m api` (uvicorn with the service's HTTP protocol).

The lifespan resolves the database (embedded when DATABASE_URL is unset), applies migrations,
loads the SLA config, starts its watcher, the evaluator, the listener that relays NOTIFYs to the
event streams and the notification worker, and stops them in reverse order.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import sessionmaker

from api import health
from api.keys import router as keys_router
from api.keys.access import authorize
from api.keys.startup import make_access
from api.kit import collector, database, embedded_postgres, errors, logs, metrics
from api.kit.channels import DELIVERIES_CHANNEL, EVENTS_CHANNEL, KEYS_CHANNEL
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
from api.tickets.coalescing import ClaimQueue
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
    listener.subscribe(KEYS_CHANNEL, app.state.access.forget)
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
        url = database.resolve_database_url(settings)
        database.migrate(url)
        engine = database.make_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        ingest_pool = database.make_async_pool(url)
        await ingest_pool.open()
        access = make_access(settings, sessions, ingest_pool)
        access.start()
        app.state.access = access
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
        claims = ClaimQueue(url)
        await claims.open()
        app.state.claims = claims
        app.state.config_store = store
        app.state.evaluator = evaluator
        live = await _start_live_parts(app, settings, url, store)
        collector.settle_after_startup()
        try:
            yield
        finally:
            await live.aclose()
            await access.stop()
            if evaluator is not None:
                evaluator.stop()
            watcher.stop()
            await claims.close()
            await ingest_pool.close()
            engine.dispose()
            if not settings.database_url:
                embedded_postgres.release()

    return lifespan


# What any route may answer besides its own responses: refusals at the edge and outages.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": errors.ErrorBody, "description": description}
    for status, description in {
        400: "the request cannot be read",
        401: "no API key, or one unknown, revoked or expired (WWW-Authenticate: Bearer)",
        403: "the API key lacks the scope the request needs",
        404: "no such resource",
        413: "the body is over the size limit",
        415: "the body is not JSON (or YAML where a route takes YAML), or not plain or gzipped",
        422: "a parameter or the body breaks the contract; every problem is listed with its location",
        500: "an unexpected failure, answered with the request id that its log line carries",
        503: "the database is out of reach, or too many large bodies arrived at once",
    }.items()
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    # Before the server's first line, so that with SLA_LOG_FORMAT=json every line is JSON.
    logs.configure(settings.sla_log_format)
    app = FastAPI(
        title="SLA monitor",
        version="1.0.0",
        summary="SLA clocks, alerts and breaches of customer-support tickets",
        lifespan=_lifespan(settings),
        responses=COMMON_RESPONSES,
        # One dependency on every route: a route is protected unless access.PUBLIC_PATHS names it.
        dependencies=[Depends(authorize)],
    )
    errors.install(app)
    routers = [
        tickets_router.router,
        sla_router.router,
        config_router.router,
        notifications_router.router,
        streams_router.router,
        keys_router.router,
        health.router,
    ]
    for router in routers:
        app.include_router(router)
    # Every route of the app, for the answers that must name the methods a path takes.
    app.state.routes = [route for router in routers for route in router.routes]
    app.add_middleware(
        RequestEdge,
        max_body_bytes=settings.sla_max_body_bytes,
        memory_budget_bytes=settings.sla_body_memory_budget_bytes,
        bodies_need_a_key=settings.sla_auth == "on",
    )
    # Outside the edge, so that what the edge refuses is counted too.
    app.add_middleware(metrics.HttpMetrics, routes=app.state.routes)
    app.openapi = _openapi_with_batch_schema(app)  # type: ignore[method-assign]
    return app


def _openapi_with_batch_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated schema, plus the snapshot model POST /tickets reads from the raw body.

    Priorities and tiers are those of the config in force, so the schema names exactly the values
    the API accepts; it is made again when a reload brings another config.
    """
    made_for: list[int] = []

    def openapi() -> dict[str, Any]:
        store: ConfigStore | None = getattr(app.state, "config_store", None)
        version = store.active.version if store is not None else 0
        if app.openapi_schema is None or made_for != [version]:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["SnapshotIn"] = SnapshotIn.model_json_schema(ref_template="#/components/schemas/{model}")
            if store is not None:
                _name_segments(schema, store.active.config.priorities, store.active.config.tiers)
            app.openapi_schema, made_for[:] = schema, [version]
        return app.openapi_schema

    return openapi


def _name_segments(schema: dict[str, Any], priorities: list[str], tiers: list[str]) -> None:
    """Name the config's priorities and tiers as the enums of the fields and parameters that take them."""
    enums = {"priority": priorities, "customer_tier": tiers}
    snapshot = schema["components"]["schemas"]["SnapshotIn"]["properties"]
    for name, values in enums.items():
        snapshot[name]["enum"] = values
    for path in schema["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in enums:
                    items = parameter["schema"].get("anyOf", [parameter["schema"]])[0].get("items")
                    if items is not None:
                        items["enum"] = enums[parameter["name"]]


app = create_app()
