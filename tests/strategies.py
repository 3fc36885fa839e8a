"""Hypothesis strategies shared by the property tests: ticket histories and the ways they arrive."""

from datetime import timedelta

from hypothesis import strategies as st

from api.kit.statuses import STATUS_ORDER
from api.tickets.schemas import SnapshotIn
from tests.builders import snapshot
from tests.conftest import T0

statuses = st.sampled_from(STATUS_ORDER)
priorities = st.sampled_from(["low", "high"])
tiers = st.sampled_from(["silver", "gold"])


@st.composite
def ticket_histories(draw: st.DrawFn) -> list[SnapshotIn]:
    """Snapshots of up to three tickets, some sharing an instant with different content."""
    snapshots: list[SnapshotIn] = []
    for number in range(draw(st.integers(1, 3))):
        ticket_id = f"T-{number}"
        created_at = T0 + timedelta(minutes=draw(st.integers(0, 60)))
        offsets = draw(st.lists(st.integers(0, 600), min_size=1, max_size=6))
        for offset in offsets:
            first_response = draw(st.none() | st.integers(0, 600))
            snapshots.append(
                snapshot(
                    ticket_id,
                    created_at=created_at,
                    updated_at=created_at + timedelta(minutes=offset),
                    status=draw(statuses),
                    priority=draw(priorities),
                    customer_tier=draw(tiers),
                    first_response_at=None
                    if first_response is None
                    else created_at + timedelta(minutes=first_response),
                )
            )
    return snapshots


@st.composite
def deliveries(draw: st.DrawFn, snapshots: list[SnapshotIn]) -> list[list[SnapshotIn]]:
    """The same snapshots shuffled, some sent twice, cut into batches."""
    duplicated = snapshots + draw(st.lists(st.sampled_from(snapshots), max_size=len(snapshots)))
    shuffled = draw(st.permutations(duplicated))
    batches: list[list[SnapshotIn]] = []
    position = 0
    while position < len(shuffled):
        size = draw(st.integers(1, len(shuffled) - position))
        batches.append(list(shuffled[position : position + size]))
        position += size
    return batches
