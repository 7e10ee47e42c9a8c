"""Backup statuses and their legal transitions, in one table (REFERENCE.md, status values).

Everything that changes a backup's status goes through ``transition``, so an illegal move
(a Succeeded backup going back to Running, say) is a bug caught where it happens.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    PARTIAL = "PartialSucceeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    DELETED = "Deleted"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.SKIPPED, Status.FAILED}),
    # Failed also covers a job found interrupted (its process died) on the next start.
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.PARTIAL, Status.FAILED}),
    Status.SUCCEEDED: frozenset({Status.DELETED}),
    Status.PARTIAL: frozenset({Status.DELETED}),
    Status.FAILED: frozenset(),
    Status.SKIPPED: frozenset(),
    Status.DELETED: frozenset(),
}

ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})
ON_SHARE = frozenset({Status.SUCCEEDED, Status.PARTIAL})


class IllegalTransition(RuntimeError):
    pass


def transition(current: Status, new: Status) -> Status:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a backup cannot go from {current.value} to {new.value}")
    return new


# The legal moves by the text a record holds, to the new status's text: a job moves its record
# four times, and making an enum of the text and reading .value back cost more than the check.
_MOVES = {s.value: {n: n.value for n in allowed} for s, allowed in TRANSITIONS.items()}


def transition_text(current: str, new: Status) -> str:
    """``transition`` for a status held as text (a record's): the new status's text."""
    text = _MOVES.get(current, {}).get(new)
    # Not a legal move (or no status at all): the plain path raises what it always raised.
    return text if text is not None else transition(Status(current), new).value
