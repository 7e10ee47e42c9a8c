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
