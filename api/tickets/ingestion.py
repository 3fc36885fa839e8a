"""Ingestion of a snapshot batch: set-based, idempotent and independent of delivery order, free of I/O.

The common case is one round trip whatever the batch's size. Its main statement (CLAIM, behind a
setting that keeps every plan to reads by key) takes every lock the batch needs, inserts new
tickets, moves on in place every stored ticket that gets one snapshot newer than all it stored, and
writes their history; on an always-open calendar it plans those clocks itself. The second
(READ_LOCKED) reads the stored rows of the tickets CLAIM only locked, and the histories of those
that get an older snapshot; it probes every ticket of the batch, since which ones CLAIM only locked
is known only once it ran. The rest, with each snapshot's outcome decided in memory as if the
snapshots had been sent one by one, takes one round trip more, which also carries the COMMIT: write
their new history rows, current state and clock summary. A repeat of the newest stored snapshot is
set aside; a ticket whose other new snapshots are all newer than what it stored moves its clocks on
from the stored summary, so its cost does not grow with its history; a ticket that gets an older
snapshot is replayed from its history; only one that gets another version of its newest instant, a
new creation instant, priority or tier, or that counted under other targets, has its history read
by a statement of its own.

Every round trip while the batch holds its row locks counts twice: concurrent batches naming the
same tickets wait for it, and the event loop may be running other requests' Python when its answer
arrives.
"""

from collections import defaultdict
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, get_args

from api.kit.steps import COMMIT, Rows, Statement, Steps
from api.models.tickets import CLOCK_COLUMNS
from api.sla import planning
from api.sla.planning import Snapshot, SnapshotFields, StoredClock
from api.sla.replay import READ_HISTORY, as_json
from api.sla.walk import targets_document
from api.sla_config.schema import SlaConfig
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import Outcome, SnapshotIn
from api.tickets.statements import BY_KEY_ONLY, CLAIM, READ_LOCKED, WRITE_BATCH


class SnapshotResult(TypedDict):
    """What happened to one snapshot of a batch."""

    id: str
    outcome: Outcome


@dataclass(slots=True)
class IngestReport:
    """Counts per outcome and the outcome of every snapshot, in the order they were sent."""

    results: list[SnapshotResult]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    conflict: int = 0

    def response(self) -> dict[str, Any]:
        """The counts and results, as the endpoint answers them."""
        return {name: getattr(self, name) for name in (*get_args(Outcome), "results")}


def _snapshot_row(snapshot: SnapshotFields) -> dict[str, Any]:
    """The snapshot's fields by name: both kinds of snapshot keep exactly those in their __dict__."""
    return vars(snapshot)


@dataclass(slots=True)
class _TicketHistory:
    """What is known of one ticket while a batch is applied to it in order."""

    snapshots: dict[datetime, SnapshotFields] = field(default_factory=dict)
    newest: datetime | None = None
    changed: bool = False

    def add(self, snapshot: SnapshotFields) -> None:
        self.snapshots[snapshot.updated_at] = snapshot
        if self.newest is None or snapshot.updated_at > self.newest:
            self.newest = snapshot.updated_at


def _apply(history: _TicketHistory, snapshot: SnapshotFields) -> tuple[Outcome, bool]:
    """The outcome of one snapshot against what is known so far, and whether history changed."""
    newest = history.newest
    stored = history.snapshots.get(snapshot.updated_at)
    if newest is None:
        outcome: Outcome = "created"
    elif stored is not None:
        if planning.content(stored) == planning.content(snapshot):
            return "unchanged", False
        if planning.rank(snapshot) <= planning.rank(stored):
            return "conflict", False
        outcome = "updated" if snapshot.updated_at == newest else "stale"
    else:
        outcome = "updated" if snapshot.updated_at > newest else "stale"
    history.add(snapshot)
    return outcome, True


def _within_batch(batch: Sequence[SnapshotFields]) -> dict[str, dict[datetime, SnapshotFields]]:
    """Each ticket's history as the batch alone tells it: one winner per instant."""
    histories: dict[str, dict[datetime, SnapshotFields]] = defaultdict(dict)
    for snapshot in batch:
        known = histories[snapshot.id].get(snapshot.updated_at)
        if known is None or planning.rank(snapshot) > planning.rank(known):
            histories[snapshot.id][snapshot.updated_at] = snapshot
    return histories


def _row(snapshots: dict[datetime, SnapshotFields], active: ActiveConfig) -> dict[str, Any]:
    current = snapshots[max(snapshots)]
    return {**_snapshot_row(current), **planning.plan_clocks(current, snapshots.values(), active.config)}


@dataclass(frozen=True, slots=True)
class _Stored:
    """What a ticket row stored, as far as moving its clocks on needs it."""

    current: Snapshot
    config_version: int
    clocks: dict[str, StoredClock]

    @property
    def updated_at(self) -> datetime:
        return self.current.updated_at

    @property
    def created_at(self) -> datetime:
        return self.current.created_at

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> "_Stored":
        ticket_id, updated_at, created_at, priority, customer_tier, status, first_response_at, config_version = row[:8]
        current = Snapshot(ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at)
        columns = row[8:]
        values = dict(zip(CLOCK_COLUMNS, columns, strict=True))
        clocks = {
            clock: StoredClock(
                phase=values[f"{clock}_phase"],
                elapsed_us=values[f"{clock}_elapsed_us"],
                running_since=values[f"{clock}_running_since"],
                alert_at=values[f"{clock}_alert_at"],
                due_at=values[f"{clock}_due_at"],
                stopped_at=values[f"{clock}_stopped_at"],
            )
            for clock in ("response", "resolution")
        }
        return cls(current, config_version, clocks)

    def after_repeats(self, batch: dict[datetime, SnapshotFields]) -> dict[datetime, SnapshotFields]:
        """The batch's snapshots but a repeat of the newest stored one, which changes nothing."""
        return {
            at: snapshot
            for at, snapshot in batch.items()
            if at != self.updated_at or planning.content(snapshot) != planning.content(self.current)
        }

    def moves_on(self, later: dict[datetime, SnapshotFields], active: ActiveConfig) -> bool:
        """Whether these snapshots can move the clocks on from this row alone, exactly as a replay would."""
        return (
            min(later) > self.updated_at
            and self.config_version in (active.equivalent_versions or (active.version,))
            and all(
                (s.created_at, s.priority, s.customer_tier)
                == (self.created_at, self.current.priority, self.current.customer_tier)
                for s in later.values()
            )
        )


@dataclass(frozen=True, slots=True)
class _Moving:
    """A stored ticket whose clocks move on from its stored row, and the snapshots that move them."""

    stored: _Stored
    later: dict[datetime, SnapshotFields]

    def row(self, active: ActiveConfig) -> dict[str, Any]:
        current = self.later[max(self.later)]
        stored = self.stored
        clocks = planning.advance_clocks(
            stored.clocks, stored.created_at, list(self.later.values()), current, active.config
        )
        return {**_snapshot_row(current), **clocks}


def _outcomes(
    snapshots: Sequence[SnapshotIn], done: dict[str, bool], histories: dict[str, _TicketHistory], report: IngestReport
) -> dict[tuple[str, datetime], SnapshotFields]:
    """Decide every snapshot's outcome in order, as if sent one by one; return the history rows left to write.

    A ticket CLAIM did whole stored nothing as new as the batch: its first snapshot sent created it
    or moved it on, and only its other snapshots need a history, that of the batch alone.
    """
    counts: dict[str, int] = defaultdict(int)
    written: dict[tuple[str, datetime], SnapshotFields] = {}
    firsts: dict[str, SnapshotFields] = {}
    again: dict[str, _TicketHistory] = {}
    results = report.results
    for snapshot in snapshots:
        ticket_id = snapshot.id
        outcome: Outcome
        if ticket_id not in done:
            history = histories[ticket_id]
            outcome, changed = _apply(history, snapshot)
            if changed:
                history.changed = True
                written[(ticket_id, snapshot.updated_at)] = snapshot
        elif ticket_id not in firsts:
            firsts[ticket_id] = snapshot
            outcome = "created" if done[ticket_id] else "updated"
        else:
            first = firsts[ticket_id]
            seen = again.setdefault(ticket_id, _TicketHistory({first.updated_at: first}, first.updated_at))
            outcome, _ = _apply(seen, snapshot)
        results.append({"id": ticket_id, "outcome": outcome})
        counts[outcome] += 1
    for name, count in counts.items():
        setattr(report, name, count)
    return written


def _planned_in_sql(history: dict[datetime, SnapshotFields], config: SlaConfig) -> bool:
    """Whether CLAIM plans (or moves on) this ticket itself: named at one instant, on an always-open calendar."""
    snapshot, *others = history.values()
    return not others and planning.is_always_open(config, snapshot.priority, snapshot.customer_tier)


def claim_can_finish(snapshots: Sequence[SnapshotFields], active: ActiveConfig) -> bool:
    """Whether CLAIM alone may do the whole batch: it names one ticket, which CLAIM plans itself."""
    first = snapshots[0]
    return all(s.id == first.id for s in snapshots) and _planned_in_sql(
        _within_batch(snapshots)[first.id], active.config
    )


def _claim(
    within: dict[str, dict[datetime, SnapshotFields]], active: ActiveConfig, params: dict[str, Any]
) -> Statement:
    """CLAIM with its rows: every winning snapshot, and the tickets whose clocks Python plans, planned."""
    config = active.config
    winners: list[dict[str, Any]] = []
    planned: list[dict[str, Any]] = []
    for history in within.values():
        in_sql = _planned_in_sql(history, config)
        if not in_sql:
            planned.append(_row(history, active))
        winners.extend({**_snapshot_row(snapshot), "planned": not in_sql} for snapshot in history.values())
    return CLAIM, {
        **params,
        "targets": targets_document(config),
        "winners": as_json(winners),
        "planned": as_json(planned),
        "planned_ids": [row["id"] for row in planned],
        "pause_statuses": sorted(config.pause_statuses),
        "alert_threshold": config.alert_threshold,
        "equivalent_versions": list(active.equivalent_versions or (active.version,)),
    }


@dataclass(slots=True)
class _Locked:
    """READ_LOCKED's answer: what the tickets CLAIM only locked stored, and the histories it read."""

    stored: list[tuple[Any, ...]] = field(default_factory=list)
    # The tickets whose whole history was read, each with its rows.
    histories: dict[str, list[Snapshot]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Rows) -> "_Locked":
        locked = cls()
        for kind, history_read, *columns in rows:
            if kind == "stored":
                locked.stored.append(tuple(columns))
                if history_read:
                    locked.histories.setdefault(columns[0], [])
            else:
                ticket_id, updated_at, created_at, priority, customer_tier, status, first_response_at = columns[:7]
                locked.histories.setdefault(ticket_id, []).append(
                    Snapshot(ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at)
                )
        return locked


def _read_locked(
    existing: list[str],
    locked: _Locked,
    within: dict[str, dict[datetime, SnapshotFields]],
    histories: dict[str, _TicketHistory],
    active: ActiveConfig,
) -> Generator[list[Statement], list[Rows], dict[str, _Moving]]:
    """Learn what the tickets CLAIM only locked stored; return those that move on from their stored row.

    Each history learns what is needed to decide the outcomes: the newest stored instant, the
    newest snapshot when the batch only repeats it, or else the whole stored history, which
    READ_LOCKED read already unless the ticket gets no snapshot older than its newest (another
    version of that instant, or a new creation instant, priority, tier or rules).
    """
    moving: dict[str, _Moving] = {}
    for row in locked.stored:
        stored = _Stored.from_row(row)
        later = stored.after_repeats(within[row[0]])
        moves = bool(later) and stored.moves_on(later, active)
        if moves:
            moving[row[0]] = _Moving(stored, later)
        if moves or not later:
            # The newest stored snapshot is all the history these outcomes need.
            histories[row[0]].add(stored.current)
    replayed = [ticket_id for ticket_id in existing if histories[ticket_id].newest is None]
    unread = [ticket_id for ticket_id in replayed if ticket_id not in locked.histories]
    for ticket_id in replayed:
        for snapshot in locked.histories.get(ticket_id, ()):
            histories[ticket_id].add(snapshot)
    if unread:
        (history_rows,) = yield [(READ_HISTORY, {"ids": unread})]
        for row in history_rows:
            histories[row[0]].add(Snapshot(*row))
    return moving


def _params(active: ActiveConfig, now: datetime, source: str | None) -> dict[str, Any]:
    return {"now": now, "version": active.version, "source": source}


def claim_steps(snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime, source: str | None) -> Steps:
    """CLAIM on its own: the tickets it did whole, each with whether it created it."""
    (claim_rows,) = yield [_claim(_within_batch(snapshots), active, _params(active, now, source))]
    done: dict[str, bool] = {row[0]: row[1] for row in claim_rows}
    return done


def claimed_report(snapshots: Sequence[SnapshotIn], done: dict[str, bool]) -> IngestReport | None:
    """The report of a batch whose tickets CLAIM did all whole (`done`, from claim_steps), else None."""
    if any(snapshot.id not in done for snapshot in snapshots):
        return None
    report = IngestReport(results=[])
    _outcomes(snapshots, done, {}, report)
    return report


def ingest_steps(
    snapshots: Sequence[SnapshotIn],
    active: ActiveConfig,
    now: datetime,
    source: str | None = None,
    *,
    commit: bool = False,
) -> Steps:
    """The statements of one batch and the decisions between them, free of I/O; `source` names the sender.

    With `commit`, a last write takes the transaction's COMMIT along in its round trip.
    """
    params = _params(active, now, source)
    within = _within_batch(snapshots)
    claim = _claim(within, active, params)
    since = as_json([{"id": ticket_id, "since": min(history)} for ticket_id, history in within.items()])
    _, claim_rows, locked_rows = yield [(BY_KEY_ONLY, {}), claim, (READ_LOCKED, {"since": since})]
    locked = _Locked.from_rows(locked_rows)
    # Tickets CLAIM created or moved on are written whole, history included.
    done: dict[str, bool] = {row[0]: row[1] for row in claim_rows}
    existing = [ticket_id for ticket_id in within if ticket_id not in done]
    histories = {ticket_id: _TicketHistory() for ticket_id in existing}
    moving: dict[str, _Moving] = {}
    if existing:
        moving = yield from _read_locked(existing, locked, within, histories, active)

    report = IngestReport(results=[])
    left = _outcomes(snapshots, done, histories, report)
    if left:
        rewritten = [
            moving[ticket_id].row(active) if ticket_id in moving else _row(history.snapshots, active)
            for ticket_id, history in histories.items()
            if history.changed
        ]
        history = as_json([_snapshot_row(s) for s in left.values()])
        ids = [row["id"] for row in rewritten]
        write = (WRITE_BATCH, {**params, "history": history, "rows": as_json(rewritten), "ids": ids})
        yield [write, *([COMMIT] if commit else [])]
    return report
