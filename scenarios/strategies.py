"""Hypothesis strategies for simulated hubs, backup policies, timelines and whole scenarios.

    from hypothesis import given, settings
    from ibs.scenarios.runner import run_scenario
    from ibs.scenarios.strategies import scenarios, overlapping_backups

    @settings(max_examples=10, deadline=None)
    @given(scenarios(days=2))
    def test_never_two_jobs_at_once(scenario):
        result = run_scenario(scenario)
        assert result.error is None
        assert overlapping_backups(result) == []

Every strategy shrinks toward the simplest case: a 4-node ADFS hub on the default version,
the default policy (every 12 h, kept 7 days), seed 1, the shortest run and an empty timeline.
Events are ``scenarios.model.Event`` with every parameter filled in as the loader would,
so the runner accepts them as they are.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ibs.scenarios.loader import _REQ, ACTIONS
from ibs.scenarios.model import Event, Expectations, Scenario
from ibs.simulator.clock import ticks
from ibs.simulator.network import ERCS_VMS
from ibs.simulator.profiles import DEFAULT_VERSION, RELEASES, HubProfile

__all__ = [
    "events",
    "hubs",
    "make_event",
    "overlapping_backups",
    "policies",
    "scenarios",
    "timelines",
    "to_toml",
]

HOUR = 3600
DAY = 86400


def _prefer(default: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``default`` first (what Hypothesis shrinks to), anything from ``strategy`` otherwise."""
    return st.one_of(st.just(default), strategy)


def make_event(at_seconds: float, action: str, /, *, line: int = 0, **params: Any) -> Event:
    """An Event as the loader builds it: parameters checked by name, defaults filled in.

    ``make_event(3600, "block_port_445", action="drop")``; ``at_seconds`` is virtual seconds."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; actions: {', '.join(sorted(ACTIONS))}")
    spec = ACTIONS[action]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ValueError(f"{action!r} takes no {', '.join(unknown)}; it takes: {', '.join(sorted(spec)) or 'none'}")
    full = {}
    for key, (_kind, default) in spec.items():
        if key in params:
            full[key] = params[key]
        elif default is _REQ:
            raise ValueError(f"{action!r} needs {key!r}")
        else:
            full[key] = default
    return Event(float(at_seconds), action, full, line)


# --- hubs and policies ------------------------------------------------------------------------


def hubs() -> st.SearchStrategy[HubProfile]:
    """HubProfile: 4-16 nodes or an ASDK, ADFS or Azure AD, a known stamp version."""
    versions = [DEFAULT_VERSION] + [f"{r}.0.1" for r in RELEASES if r != DEFAULT_VERSION.rsplit(".", 2)[0]]
    return st.builds(
        HubProfile,
        nodes=st.sampled_from([*range(4, 17), 1]),  # 4 nodes first: what it shrinks to
        identity=st.sampled_from(("ADFS", "AzureAD")),
        version=st.sampled_from(versions),
    )


def policies() -> st.SearchStrategy[dict[str, int]]:
    """Scenario ``[settings]``: ``frequency_hours`` 4-12 and ``retention_days`` 2-14."""
    return st.fixed_dictionaries({
        "frequency_hours": _prefer(12, st.integers(4, 12)),
        "retention_days": _prefer(7, st.integers(2, 14)),
    })


# --- timelines --------------------------------------------------------------------------------

_PASSWORD = st.text(alphabet="abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=8,
                    max_size=16).map(lambda s: "Pw-" + s)


@st.composite
def _episode(draw: st.DrawFn, horizon_minutes: int) -> list[Event]:
    """One thing that happens and, for a fault, maybe its end up to a day later (shrinks to
    a fault that is never lifted: one event rather than two)."""
    start = draw(st.integers(0, horizon_minutes - 1)) * 60

    def lifted() -> float | None:
        if not draw(st.booleans()):
            return None
        return start + draw(st.integers(1, 24 * 60)) * 60

    kind = draw(st.sampled_from(("backup", "firewall", "dns", "maintenance", "password", "ercs")))
    out: list[Event] = []
    if kind == "backup":
        out.append(make_event(start, "backup"))
    elif kind == "firewall":
        out.append(make_event(start, "block_port_445", action=draw(st.sampled_from(("reject", "drop")))))
        end = lifted()
        if end is not None:
            out.append(make_event(end, "unblock_port_445"))
    elif kind == "dns":
        out.append(make_event(start, "dns_fail"))
        end = lifted()
        if end is not None:
            out.append(make_event(end, "dns_restore"))
    elif kind == "maintenance":
        out.append(make_event(start, "maintenance", hours=float(draw(st.integers(1, 12))),
                              kind=draw(st.sampled_from(("update", "FRU")))))
    elif kind == "password":
        password = draw(_PASSWORD)
        out.append(make_event(start, "server_password", password=password))
        end = lifted()
        if end is not None:  # the operator catches up with the new password
            out.append(make_event(end, "operator_credentials", password=password))
    else:
        vm = draw(st.sampled_from(ERCS_VMS))
        out.append(make_event(start, "ercs_fail", vm=vm))
        end = lifted()
        if end is not None:
            out.append(make_event(end, "ercs_restore", vm=vm))
    return out


def timelines(days: float, max_episodes: int = 6) -> st.SearchStrategy[list[Event]]:
    """Events within ``days``, sorted by time: firewall blocks and lifts, DNS failures and
    restores, on-demand backups, server password changes (and the operator catching up),
    maintenance windows, ERCS VM failures and restores. Shrinks to an empty timeline."""
    horizon = max(1, int(days * 24 * 60))
    end = ticks(days * DAY)

    def flatten(episodes: list[list[Event]]) -> list[Event]:
        # A fault lifted after the run has ended is never lifted; the loader refuses such an
        # event, so a timeline saved with to_toml() must not hold one.
        flat = [e for episode in episodes for e in episode if ticks(e.at_seconds) < end]
        flat.sort(key=lambda e: e.at_seconds)
        return [Event(e.at_seconds, e.action, e.params, i + 1) for i, e in enumerate(flat)]

    return st.lists(_episode(horizon), max_size=max_episodes).map(flatten)


events = timelines  # an alias


# --- scenarios --------------------------------------------------------------------------------


def _strategy(value: Any) -> st.SearchStrategy:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


@st.composite
def scenarios(draw: st.DrawFn, *, hub: Any = None, settings: Any = None, days: Any = None,
              seed: Any = None, fidelity: str = "sim", max_episodes: int = 6,
              expect: Expectations | None = None, name: str = "hypothesis") -> Scenario:
    """A Scenario ready for ``run_scenario``.

    Each of ``hub`` (a HubProfile), ``settings`` (a dict), ``days`` and ``seed`` may be a value
    or a strategy; by default ``hubs()``, ``policies()``, 1-3 days (each plus 0.02 so the
    backup due at the end is seen) and seeds from 1. ``expect`` defaults to no expectations:
    assert invariants on the result yourself.
    """
    profile: HubProfile = draw(_strategy(hub) if hub is not None else hubs())
    policy = dict(draw(_strategy(settings) if settings is not None else policies()))
    length = float(draw(_strategy(days) if days is not None else st.integers(1, 3).map(lambda d: d + 0.02)))
    run_seed = draw(_strategy(seed) if seed is not None else _prefer(1, st.integers(1, 10_000)))
    timeline = draw(timelines(length, max_episodes))
    return Scenario(
        name=name, path=f"<{name}>", description="drawn by scenarios.strategies", tags=("hypothesis",),
        hub="asdk" if profile.asdk else str(profile.nodes), identity=profile.identity,
        stamp_version=profile.version, fidelity=fidelity, days=length, seed=run_seed,
        settings=policy, events=tuple(timeline), expect=expect or Expectations(),
    )


# --- helpers for invariants and replays -------------------------------------------------------


def overlapping_backups(result: Any) -> list[tuple[str, str]]:
    """Pairs of backup ids (from a ScenarioResult) whose jobs ran at the same time."""
    ran = sorted((b for b in result.backups if b.get("startedAt") is not None),
                 key=lambda b: b["startedAt"])
    overlaps = []
    for i, first in enumerate(ran):
        end = first["finishedAt"]
        for later in ran[i + 1:]:
            if end is None or later["startedAt"] < end:
                overlaps.append((first["id"], later["id"]))
            else:
                break
    return overlaps


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _toml_at(seconds: float) -> str:
    if float(seconds).is_integer():
        return f'at = "{int(seconds)}s"'
    return f"at = {seconds / 3600!r}"


def to_toml(scenario: Scenario) -> str:
    """The scenario as a TOML file (without expectations): save it as ``scenario_*.toml`` to
    keep a case Hypothesis found, then add an ``[expect]`` table."""
    lines = ["[scenario]", f"name = {_toml_value(scenario.name)}",
             f"hub = {_toml_value(scenario.hub if scenario.hub == 'asdk' else int(scenario.hub))}",
             f"identity = {_toml_value(scenario.identity)}",
             f"stamp_version = {_toml_value(scenario.stamp_version)}",
             f"days = {_toml_value(float(scenario.days))}", f"seed = {scenario.seed}",
             f"fidelity = {_toml_value(scenario.fidelity)}", "", "[settings]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in scenario.settings.items()]
    for event in scenario.events:
        lines += ["", "[[events]]", _toml_at(event.at_seconds), f"do = {_toml_value(event.action)}"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in event.params.items() if v is not None]
    return "\n".join(lines) + "\n"
