"""The clock columns of an always-open ticket as SQL, so that ingestion plans the common case in its own statement.

Two cases have closed forms on a calendar that is always open: a ticket whose history is one
snapshot (`planning.plan_clocks` of that snapshot), and a stored ticket that gets one snapshot
newer than all it stored (`planning.advance_clocks` with one later snapshot). Each expression here
gives what that Python gives, to the microsecond; `tests/tickets/test_clock_sql.py` holds them equal.
"""

from api.kit.statuses import STOPPED_STATUSES

_MICROSECOND = "interval '1 microsecond'"
_STOPPED = ", ".join(f"'{status}'" for status in sorted(STOPPED_STATUSES))


def microseconds_between(later: str, earlier: str) -> str:
    """Microseconds from `earlier` to `later`: exact, as the difference is whole days and microseconds."""
    return f"(EXTRACT(EPOCH FROM {later} - {earlier}) * 1000000)::bigint"


def after(start: str, microseconds: str) -> str:
    """The instant `microseconds` after `start` (exact below 2^53 microseconds, 285 years)."""
    return f"({start} + ({microseconds}) * {_MICROSECOND})"


def alert_us_of(target_us: str, alert_threshold: str) -> str:
    """SQL of `schema.clock_target`'s alert: the counted time at which `alert_threshold` of the target is left.

    The same IEEE double product and floor as Python's, so the two agree exactly.
    """
    return f"({target_us} - floor(CAST({alert_threshold} AS float8) * {target_us})::bigint)"


def phase_of(status: str, pause_statuses: str) -> str:
    """SQL of `policy.phase_of`: what the resolution clock does in `status`; `pause_statuses` is a text[]."""
    return (
        f"CASE WHEN {status} IN ({_STOPPED}) THEN 'stopped' "
        f"WHEN {status} = ANY({pause_statuses}) THEN 'paused' ELSE 'running' END"
    )


def answered(created_at: str, first_response_at: str, status: str, updated_at: str) -> str:
    """When one snapshot stops the response clock: its first response or a status but open, not before creation."""
    earliest = f"LEAST({first_response_at}, CASE WHEN {status} <> 'open' THEN {updated_at} END)"
    return f"CASE WHEN {earliest} IS NOT NULL THEN GREATEST({earliest}, {created_at}) END"


def one_segment(clock: str, *, created_at: str, phase: str, end: str, target_us: str, alert_us: str) -> dict[str, str]:
    """The columns of a clock that ran from creation, until `end` unless it is NULL."""
    # GREATEST skips NULLs: a clock still running has counted nothing in closed segments.
    elapsed = f"GREATEST({microseconds_between(end, created_at)}, 0)"
    alert_at, due_at = after(created_at, alert_us), after(created_at, target_us)
    return {
        f"{clock}_phase": phase,
        f"{clock}_elapsed_us": elapsed,
        f"{clock}_running_since": f"CASE WHEN {end} IS NULL THEN {created_at} END",
        f"{clock}_target_us": target_us,
        f"{clock}_alert_at": f"CASE WHEN {end} IS NULL OR {elapsed} >= {alert_us} THEN {alert_at} END",
        f"{clock}_due_at": f"CASE WHEN {end} IS NULL OR {elapsed} >= {target_us} THEN {due_at} END",
        f"{clock}_stopped_at": f"CASE WHEN {phase} = 'stopped' THEN {end} END",
    }


def response_columns(*, created_at: str, answered: str, target_us: str, alert_threshold: str) -> dict[str, str]:
    """The response clock's columns: it runs from creation until answered, if it was."""
    return one_segment(
        "response",
        created_at=created_at,
        phase=f"CASE WHEN {answered} IS NULL THEN 'running' ELSE 'stopped' END",
        end=answered,
        target_us=target_us,
        alert_us=alert_us_of(target_us, alert_threshold),
    )


def first_snapshot_columns(row: str, alert_threshold: str) -> dict[str, str]:
    """The clock columns of a ticket whose history is one snapshot, from a row that holds the snapshot,
    its targets (`response_target_us`, `resolution_target_us`), `answered`, `resolution_phase` and
    `resolution_end` (the instant the resolution clock stopped running, if it did)."""
    target_us = f"{row}.resolution_target_us"
    return {
        **response_columns(
            created_at=f"{row}.created_at",
            answered=f"{row}.answered",
            target_us=f"{row}.response_target_us",
            alert_threshold=alert_threshold,
        ),
        **one_segment(
            "resolution",
            created_at=f"{row}.created_at",
            phase=f"{row}.resolution_phase",
            end=f"{row}.resolution_end",
            target_us=target_us,
            alert_us=alert_us_of(target_us, alert_threshold),
        ),
    }


def moved_on_steps(stored: str, new: str, alert_threshold: str) -> str:
    """The SELECT list of the intermediate values of moving a stored row on by one newer snapshot.

    `new` holds the snapshot as a first snapshot's columns would (its `response_stopped_at` is when it
    answered, its `resolution_phase` the phase it puts the clock in, its targets those in force).
    Gives what `planning._advance_response` and `planning._advance_resolution` give.
    """
    running_since, elapsed = f"{stored}.resolution_running_since", f"{stored}.resolution_elapsed_us"
    closes = f"({running_since} IS NOT NULL AND {new}.resolution_phase <> 'running')"
    counted = microseconds_between(f"{new}.updated_at", running_since)
    length = f"CASE WHEN {closes} THEN GREATEST({counted}, 0) ELSE 0 END"
    return ", ".join(
        [
            f"LEAST({new}.response_stopped_at, CASE WHEN {stored}.response_phase = 'stopped' "
            f"THEN {stored}.response_stopped_at END) AS answered",
            f"{closes} AS closes",
            f"{elapsed} AS elapsed_before",
            f"{elapsed} + {length} AS elapsed_after",
            f"CASE WHEN {closes} THEN NULL WHEN {running_since} IS NULL AND {new}.resolution_phase = 'running' "
            f"THEN {new}.updated_at ELSE {running_since} END AS running_since_after",
            f"{alert_us_of(f'{new}.resolution_target_us', alert_threshold)} AS resolution_alert_us",
        ]
    )


def _crossed(steps: str, stored: str, threshold: str, stored_at: str) -> str:
    """When the resolution clock's counted time reaches `threshold`: kept if the stored time already had."""
    return (
        f"CASE WHEN {threshold} <= {steps}.elapsed_before THEN {stored}.{stored_at} "
        f"WHEN {steps}.closes AND {threshold} <= {steps}.elapsed_after "
        f"THEN {after(f'{stored}.resolution_running_since', f'{threshold} - {steps}.elapsed_before')} "
        f"WHEN {steps}.running_since_after IS NOT NULL "
        f"THEN {after(f'{steps}.running_since_after', f'{threshold} - {steps}.elapsed_after')} END"
    )


def moved_on_columns(stored: str, new: str, steps: str, alert_threshold: str) -> dict[str, str]:
    """The clock columns of a stored row moved on by one newer snapshot, from `moved_on_steps` named `steps`."""
    phase = f"{new}.resolution_phase"
    return {
        **response_columns(
            created_at=f"{stored}.created_at",
            answered=f"{steps}.answered",
            target_us=f"{new}.response_target_us",
            alert_threshold=alert_threshold,
        ),
        "resolution_phase": phase,
        "resolution_elapsed_us": f"{steps}.elapsed_after",
        "resolution_running_since": f"{steps}.running_since_after",
        "resolution_target_us": f"{new}.resolution_target_us",
        "resolution_alert_at": _crossed(steps, stored, f"{steps}.resolution_alert_us", "resolution_alert_at"),
        "resolution_due_at": _crossed(steps, stored, f"{new}.resolution_target_us", "resolution_due_at"),
        "resolution_stopped_at": (
            f"CASE WHEN {phase} = 'stopped' AND {stored}.resolution_phase <> 'stopped' THEN {new}.updated_at "
            f"WHEN {phase} <> 'stopped' THEN NULL ELSE {stored}.resolution_stopped_at END"
        ),
    }
