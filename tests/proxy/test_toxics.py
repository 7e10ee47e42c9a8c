"""Toxics validate their own fields; resolve() refuses ambiguous sets."""

from __future__ import annotations

import dataclasses
import re

import pytest

from ibs.fake_smb.proxy import Bandwidth, Blackhole, Latency, Reject, ResetAfterBytes, Stream
from ibs.fake_smb.proxy_toxics import resolve


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Latency(seconds=-0.1), "Latency.seconds must be a finite number >= 0"),
        (lambda: Latency(seconds=0.1, jitter=-1), "Latency.jitter must be a finite number >= 0"),
        (lambda: Latency(seconds=float("nan")), "Latency.seconds must be a finite number"),
        (lambda: Bandwidth(rate=0), "Bandwidth.rate must be a finite number > 0"),
        (lambda: Bandwidth(rate=-5), "Bandwidth.rate must be a finite number > 0"),
        (lambda: ResetAfterBytes(limit=0), "ResetAfterBytes.limit must be an int >= 1"),
        (lambda: ResetAfterBytes(limit=1.5), "ResetAfterBytes.limit must be an int >= 1"),
        (lambda: Latency(seconds=1, stream="sideways"), "Latency.stream must be 'upstream'"),
    ],
)
def test_bad_fields_raise_value_error_naming_the_field(make, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_wrong_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match=r"Latency\.seconds must be a number, got str"):
        Latency(seconds="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a number, got bool"):
        Bandwidth(rate=True)


def test_toxics_are_frozen_and_keyword_only() -> None:
    latency = Latency(seconds=0.1, stream="upstream")
    assert latency.stream is Stream.UPSTREAM  # a plain string is accepted and normalised
    with pytest.raises(dataclasses.FrozenInstanceError):
        latency.seconds = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Latency(0.1)  # type: ignore[misc]


def test_resolve_splits_toxics_by_direction() -> None:
    up = Latency(seconds=0.1, stream=Stream.UPSTREAM)
    down = Latency(seconds=0.2, stream=Stream.DOWNSTREAM)
    cap = Bandwidth(rate=1000)
    resolved = resolve([up, down, cap, Reject(), Blackhole()])
    assert resolved.upstream.latency is up and resolved.downstream.latency is down
    assert resolved.upstream.bandwidth is cap and resolved.downstream.bandwidth is cap
    assert resolved.reject and resolved.blackhole


def test_two_toxics_of_one_kind_on_one_direction_are_refused() -> None:
    with pytest.raises(ValueError, match="two Latency toxics act on the upstream stream"):
        resolve([Latency(seconds=0.1), Latency(seconds=0.2, stream="upstream")])
    with pytest.raises(TypeError, match="not a toxic"):
        resolve(["latency"])  # type: ignore[list-item]
