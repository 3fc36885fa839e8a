"""A config change moves open tickets' deadlines, set-based, exactly as a replay from history would."""

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock
from api.kit.statuses import OPEN_STATUS_SQL
from api.models import Ticket
from api.models.tickets import CLOCK_COLUMNS
from api.sla import replay, walk
from api.sla_config.loader import parse_text
from api.sla_config.store import ConfigStore
from tests.builders import EDITED, apply_batch, event_keys, run_pass, snapshot
from tests.conftest import SEED_CONFIG, T0, FrozenClock
from tests.strategies import ticket_histories

COLUMNS = [*CLOCK_COLUMNS, "config_version", "next_check_at", "deadline_at"]


def _clock_columns(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        return {t.id: {c: getattr(t, c) for c in COLUMNS} for t in session.query(Ticket).order_by(Ticket.id)}


def _walk_all(sessions: sessionmaker[Session], store: ConfigStore) -> None:
    with sessions() as session:
        after: str | None = ""
        while after is not None:
            result = walk.move_chunk(session, active=store.active, now=clock.utc_now(), after=after, limit=7)
            session.commit()
            after = result.next_after


def _replay_all(sessions: sessionmaker[Session], store: ConfigStore) -> None:
    with sessions() as session:
        ids = list(session.scalars(text(f"SELECT id FROM tickets WHERE {OPEN_STATUS_SQL}")))
        replay.replay(session, ticket_ids=ids, active=store.active, now=clock.utc_now())
        session.commit()


def test_tightening_a_target_moves_open_deadlines_and_keeps_recorded_events(
    sessions: sessionmaker[Session], config_store: ConfigStore, frozen_clock: FrozenClock
) -> None:
    apply_batch(sessions, config_store.active, [snapshot("open", created_at=T0)], now=T0)
    run_pass(sessions, now=T0 + timedelta(seconds=800))  # response alert of the 900 s target
    config_store.path.write_text(
        SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 600,  resolution: 7200}")
    )
    config_store.reload()

    _walk_all(sessions, config_store)
    run_pass(sessions, now=T0 + timedelta(seconds=800))

    with sessions() as session:
        ticket = session.get(Ticket, "open")
        assert ticket is not None
        assert ticket.response_due_at == T0 + timedelta(seconds=600)
        assert ticket.config_version == config_store.active.version
    assert event_keys(sessions) == [
        ("open", "response", "breach", T0 + timedelta(seconds=600)),
        ("open", "response", "alert", T0 + timedelta(seconds=765)),
    ]


def test_finished_tickets_keep_the_deadlines_they_finished_under(
    sessions: sessionmaker[Session], config_store: ConfigStore
) -> None:
    done = [
        snapshot("done", created_at=T0),
        snapshot("done", created_at=T0, updated_at=T0 + timedelta(hours=1), status="closed"),
    ]
    apply_batch(sessions, config_store.active, done, now=T0)
    before = _clock_columns(sessions)
    config_store.path.write_text(SEED_CONFIG.replace("900", "60"))
    config_store.reload()

    _walk_all(sessions, config_store)

    assert _clock_columns(sessions) == before


CALENDARS = """
calendars:
  berlin:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-12:30", "13:30-18:00"]}
    holidays: {country: DE, subdivision: BE}
  sydney:
    timezone: Australia/Lord_Howe
    hours: {mon-sat: "08:00-20:00"}
"""
BERLIN = SEED_CONFIG + CALENDARS + "calendar: berlin\n"
EDITS = st.sampled_from(
    [
        BERLIN,
        BERLIN.replace("calendar: berlin\n", "calendar: sydney\n"),
        BERLIN.replace('"13:30-18:00"', '"13:30-19:00"'),
        SEED_CONFIG.replace(
            "{response: 900,  resolution: 10800}", "{response: 900, resolution: 10800, calendar: berlin}"
        )
        + CALENDARS,
        SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 60,  resolution: 600}"),
        SEED_CONFIG.replace("resolution: 86400", "resolution: 120"),
        "alert_threshold: 0.5\n" + SEED_CONFIG,
        "pause_statuses: [pending, open]\n" + SEED_CONFIG,
        "pause_statuses: []\n" + SEED_CONFIG.replace("3600", "30m"),
        SEED_CONFIG.replace("7200", "99999").replace("21600", "300"),
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_recomputing_after_any_edit_equals_replaying_every_history(
    sessions: sessionmaker[Session], config_store: ConfigStore, data: st.DataObject
) -> None:
    with sessions() as session:
        session.execute(text("TRUNCATE notification_deliveries, sla_events, event_counts, ticket_snapshots, tickets"))
        session.commit()
    config_store.path.write_text(data.draw(st.sampled_from([SEED_CONFIG, BERLIN])))
    config_store.reload()
    apply_batch(sessions, config_store.active, data.draw(ticket_histories()), now=T0)
    edit = data.draw(EDITS)
    config_store.path.write_text(edit)
    assert config_store.reload() or config_store.active.content_hash == parse_text(edit).content_hash

    _walk_all(sessions, config_store)
    recomputed = _clock_columns(sessions)
    _replay_all(sessions, config_store)
    replayed = _clock_columns(sessions)

    assert recomputed == replayed


def test_a_clock_that_stopped_exactly_at_the_new_target_counts_as_breached(
    sessions: sessionmaker[Session], config_store: ConfigStore
) -> None:
    answered = snapshot("edge", created_at=T0, updated_at=T0 + timedelta(minutes=10), status="in_progress")
    apply_batch(sessions, config_store.active, [answered], now=T0)
    config_store.path.write_text(
        SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 600,  resolution: 10800}")
    )
    config_store.reload()

    _walk_all(sessions, config_store)

    with sessions() as session:
        ticket = session.get(Ticket, "edge")
        assert ticket is not None
        assert ticket.response_due_at == T0 + timedelta(seconds=600)


def test_only_open_tickets_on_another_config_count_as_stale(
    sessions: sessionmaker[Session], config_store: ConfigStore, frozen_clock: FrozenClock
) -> None:
    apply_batch(
        sessions,
        config_store.active,
        [snapshot("open", created_at=T0), snapshot("done", created_at=T0, status="resolved")],
        now=T0,
    )
    with sessions() as session:
        assert not walk.anything_stale(session, config_store.active)
    config_store.path.write_text(EDITED)
    config_store.reload()

    with sessions.begin() as session:
        assert walk.anything_stale(session, config_store.active)
        session.execute(text("UPDATE tickets SET status = 'closed' WHERE id = 'open'"))
    with sessions() as session:
        # Finished tickets keep the version they finished under: nothing for a walk to move.
        assert not walk.anything_stale(session, config_store.active)


def test_asking_whether_anything_is_stale_probes_the_index_instead_of_scanning_the_tickets(
    sessions: sessionmaker[Session], config_store: ConfigStore, frozen_clock: FrozenClock
) -> None:
    version = config_store.active.version
    with sessions.begin() as session:
        session.execute(
            text("""
                INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, received_at,
                                     config_version, response_phase, response_elapsed_us, response_target_us,
                                     resolution_phase, resolution_elapsed_us, resolution_target_us)
                SELECT 'S-' || g, 'high', 'gold', CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'open' END,
                       :t0, :t0, :t0, CASE WHEN g % 3 = 0 THEN :version - 1 ELSE :version END,
                       'met', 0, 1, 'met', 0, 1
                FROM generate_series(1, 20000) AS g
            """),
            {"t0": T0, "version": version},
        )
        session.execute(text("ANALYZE tickets"))
    with sessions() as session:
        equivalent = list(config_store.active.equivalent_versions or (version,))
        plan = "\n".join(
            session.scalars(text(f"EXPLAIN {walk.STALE_EXISTS.text}"), {"equivalent_versions": equivalent})
        )
        assert not walk.anything_stale(session, config_store.active)

    assert "ix_tickets_open_config_version" in plan
    assert "Seq Scan" not in plan
