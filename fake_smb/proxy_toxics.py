"""The faults a `FaultProxy` applies ("toxics", after Toxiproxy), as data.

Each toxic is a frozen, keyword-only dataclass that validates its own fields, so a bad value
fails where it is written, not later inside a proxy thread. `resolve()` turns a set of toxics
into a `ToxicSet`: what applies to each direction. The proxy swaps whole `ToxicSet`s, so a
connection thread always sees one consistent configuration.

Directions follow Toxiproxy: "upstream" is client -> server, "downstream" is server -> client.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass


class Stream(enum.StrEnum):
    """Which direction a toxic applies to."""

    UPSTREAM = "upstream"  # client -> server
    DOWNSTREAM = "downstream"  # server -> client
    BOTH = "both"

    def covers(self, direction: Stream) -> bool:
        return self is Stream.BOTH or self is direction


def _stream(owner: str, value: object) -> Stream:
    if isinstance(value, str) and value in {s.value for s in Stream}:
        return Stream(value)
    raise ValueError(f"{owner}.stream must be 'upstream', 'downstream' or 'both', got {value!r}")


def _number(owner: str, name: str, value: object, *, positive: bool = False) -> float:
    # bool is an int subclass; True seconds is surely a mistake, so refuse it.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{owner}.{name} must be a finite number {bound}, got {value!r}")
    return float(value)


@dataclass(frozen=True, kw_only=True)
class Reject:
    """Like iptables REJECT: new connections get ECONNREFUSED, open ones are reset (RST)."""


@dataclass(frozen=True, kw_only=True)
class Blackhole:
    """Like iptables DROP: connections are accepted but nothing is ever answered.

    Bytes from either side are swallowed (lost, not delayed). A connection that was already
    forwarding resumes when the blackhole is lifted; one accepted under it never reaches the
    server and stays silent for its whole life.
    """


@dataclass(frozen=True, kw_only=True)
class Latency:
    """Delay every chunk by `seconds` plus a uniform draw from [-jitter, +jitter].

    Chunks keep their order (a chunk never overtakes the one before it), and the delay is
    never negative. Draws come from a `random.Random` seeded per proxy, connection and
    direction, so a run is reproducible whatever the thread timing.
    """

    seconds: float
    jitter: float = 0.0
    stream: Stream = Stream.BOTH

    def __post_init__(self) -> None:
        _number("Latency", "seconds", self.seconds)
        _number("Latency", "jitter", self.jitter)
        object.__setattr__(self, "stream", _stream("Latency", self.stream))


@dataclass(frozen=True, kw_only=True)
class Bandwidth:
    """Cap throughput at `rate` bytes per second per connection and direction (token bucket)."""

    rate: float
    stream: Stream = Stream.BOTH

    def __post_init__(self) -> None:
        _number("Bandwidth", "rate", self.rate, positive=True)
        object.__setattr__(self, "stream", _stream("Bandwidth", self.stream))


@dataclass(frozen=True, kw_only=True)
class ResetAfterBytes:
    """Reset the connection (RST to both peers) once `limit` bytes have been forwarded.

    Bytes are counted per direction from the connection's start, so adding this toxic to a
    connection that has already moved more than `limit` bytes resets it at once.
    """

    limit: int
    stream: Stream = Stream.BOTH

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"ResetAfterBytes.limit must be an int >= 1, got {self.limit!r}")
        object.__setattr__(self, "stream", _stream("ResetAfterBytes", self.stream))


Toxic = Reject | Blackhole | Latency | Bandwidth | ResetAfterBytes
_DIRECTIONAL = (Latency, Bandwidth, ResetAfterBytes)


@dataclass(frozen=True, kw_only=True)
class DirectionPlan:
    """The toxics that act on one direction."""

    latency: Latency | None = None
    bandwidth: Bandwidth | None = None
    reset_after: ResetAfterBytes | None = None


@dataclass(frozen=True, kw_only=True)
class ToxicSet:
    """A validated, resolved set of toxics; what a connection thread reads."""

    toxics: tuple[Toxic, ...] = ()
    reject: bool = False
    blackhole: bool = False
    upstream: DirectionPlan = DirectionPlan()
    downstream: DirectionPlan = DirectionPlan()

    def plan(self, direction: Stream) -> DirectionPlan:
        return self.upstream if direction is Stream.UPSTREAM else self.downstream


def resolve(toxics: Iterable[Toxic]) -> ToxicSet:
    """Check a set of toxics and work out what applies to each direction.

    Two toxics of one kind may not act on the same direction (which would win is a guess);
    give them different streams instead. Reject and Blackhole together mean Reject.
    """
    items = tuple(toxics)
    fields = {Latency: "latency", Bandwidth: "bandwidth", ResetAfterBytes: "reset_after"}
    plans: dict[Stream, dict[str, Toxic]] = {Stream.UPSTREAM: {}, Stream.DOWNSTREAM: {}}
    for toxic in items:
        if not isinstance(toxic, Reject | Blackhole | Latency | Bandwidth | ResetAfterBytes):
            raise TypeError(f"not a toxic: {toxic!r}; use Reject, Blackhole, Latency, ...")
        if not isinstance(toxic, _DIRECTIONAL):
            continue
        for direction, plan in plans.items():
            if toxic.stream.covers(direction):
                name = fields[type(toxic)]
                if name in plan:
                    raise ValueError(
                        f"two {type(toxic).__name__} toxics act on the {direction} stream;"
                        " give each its own stream ('upstream' or 'downstream')"
                    )
                plan[name] = toxic
    return ToxicSet(
        toxics=items,
        reject=any(isinstance(t, Reject) for t in items),
        blackhole=any(isinstance(t, Blackhole) for t in items),
        upstream=DirectionPlan(**plans[Stream.UPSTREAM]),  # type: ignore[arg-type]
        downstream=DirectionPlan(**plans[Stream.DOWNSTREAM]),  # type: ignore[arg-type]
    )
