"""The hub's per-record shortcuts answer as the plain paths they stand for.

Each shortcut below spells out, for speed, what a slower path computes: the link's wait, the
share's gate, a watched file's write, the hub's sample, an event's time, the clock's time. Each
test runs both on the same inputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.share.base import ShareStat
from ibs.engine.share.unc import parse_unc
from ibs.simulator import gate
from ibs.simulator.clock import DAY, SimClock, seconds, ticks
from ibs.simulator.config import SHARE_HOST, SHARE_PATH, SHARE_USER, ServerModel
from ibs.simulator.crashpoints import PHASES, ControllerCrashed, CrashPoints
from ibs.simulator.events import EventLog
from ibs.simulator.memshare import MemoryShare, ShareStorage
from ibs.simulator.network import ERCS_VMS, Firewall, FirewallRule, Link, PepDns


@settings(max_examples=500)
@given(st.floats(1e3, 1e12), st.floats(0, 1), st.integers(0, 10**12))
def test_the_links_wait_is_its_transfer_time_in_whole_ticks_and_at_least_one(per_second, latency,
                                                                              moved):
    link = Link(bytes_per_second=per_second, latency_seconds=latency)
    assert link.transfer_ticks(moved) == max(1, ticks(latency + moved / per_second))


@dataclass
class _World:
    """gate.World, with the parts a scenario changes."""

    firewall: Firewall = field(default_factory=Firewall)
    dns: PepDns = field(default_factory=PepDns)
    server: ServerModel = field(default_factory=lambda: ServerModel(users={SHARE_USER: "pw"}))
    active_vm: str = ERCS_VMS[0]
    ctl: object = None
    now: float = 0.0


class _Settings:
    smb_timeout = 30


class _Ctl:
    settings = _Settings()


def _verdict(ask, op: str) -> str | None:
    try:
        ask(op)
    except Exception as exc:  # noqa: BLE001 (the verdict is what was raised, whatever it is)
        return f"{type(exc).__name__}: {exc}"
    return None


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["allow", "drop", "reject"]), max_size=2), st.booleans(),
       st.booleans(), st.sampled_from(["3.1.1", "2.1"]), st.sampled_from([None, "pw", "bad"]),
       st.sampled_from(["connect", "write", "create", "list", "statfs"]))
def test_the_shares_gate_says_what_the_check_says(actions, up, broken, dialect, password, op):
    world = _World(ctl=_Ctl())
    for i, action in enumerate(actions):
        world.firewall.add(FirewallRule(name=f"r{i}", action=action, target=SHARE_HOST))
    world.server.up = up
    world.server.max_dialect = dialect
    if broken:
        world.dns.broken.add(SHARE_HOST)
    unc = parse_unc(SHARE_PATH)
    ask = gate.for_share(world, unc, SHARE_USER, password)  # type: ignore[arg-type]
    plain = _verdict(lambda o: gate.check(world, o, unc, SHARE_USER, password), op)  # type: ignore[arg-type]
    assert _verdict(ask, op) == plain


@dataclass
class _Record:
    id: str


class _Job:
    def __init__(self, job_id: str) -> None:
        self.record = _Record(job_id)

    def kill(self) -> None:
        pass


class _Host:
    def __init__(self) -> None:
        self.crash_pending = False
        self.running_job: _Job | None = None


def _plain_write(points: CrashPoints, file, path: str, data: bytes) -> None:
    points.observe("write", path)
    file.write(data)


# A job may come back after another ran (as no hub job does): a watched write must still count
# as observe does, which starts again for each job it meets.
_JOBS = [None, _Job("a"), _Job("b")]
_step = st.one_of(
    st.tuples(st.just("job"), st.integers(0, 2)),
    st.tuples(st.just("create"), st.integers(0, 2)),
    st.tuples(st.just("write"), st.integers(0, 2)),
    st.tuples(st.just("arm"), st.sampled_from([None, *PHASES])),
)


def _run(script, watched: bool) -> list[object]:
    """What each step did (a crash's phase, the points' count of writes), watched files'
    writes going through the watched share, or else through observe and the file plainly."""
    host = _Host()
    points = CrashPoints(host)
    storage = ShareStorage(10**6)
    storage.add_dir("r")
    inner = MemoryShare(storage, "r", "share", lambda op: None, lambda: True)
    share = points.wrap(inner)
    share.makedirs("MASBackup/.partial-x/roles")
    files: list[tuple[object, str]] = []
    seen: list[object] = []
    for kind, arg in script:
        try:
            if kind == "job":
                host.running_job = _JOBS[arg]  # type: ignore[assignment]
            elif kind == "arm":
                points.arm(arg)
            elif kind == "create":
                path = f"MASBackup/.partial-x/roles/R{arg}.ibsr"
                if watched:
                    files.append((share.create(path), path))
                else:
                    points.observe("create", path)
                    files.append((inner.create(path), path))
            elif files:
                file, path = files[arg % len(files)]
                if watched:
                    file.write(b"x")  # type: ignore[attr-defined]
                else:
                    _plain_write(points, file, path, b"x")
            seen.append(None)
        except ControllerCrashed as crash:
            seen.append(str(crash))
        seen.append(points._writes)
    seen.append(list(points.fired))
    seen.append({p: bytes(b) for p, b in storage.files.items()})
    return seen


@settings(max_examples=300, deadline=None)
@given(st.lists(_step, max_size=40))
def test_a_watched_files_write_strikes_and_counts_as_observing_it_does(script):
    assert _run(script, watched=True) == _run(script, watched=False)


def test_the_sample_after_a_record_is_what_the_share_holds_now(make_hub):
    hub = make_hub(4, share_used_bytes=10 * 10**9)  # other data, which the samples leave out
    hub.run(0.6)  # the first backup has written its records
    assert len(hub.occupancy) > 10
    hub.storage.put_file(f"{hub.storage_root()}/extra", bytearray(5))
    hub.sample()
    assert hub.occupancy[-1] == (hub.now, hub.share_used_bytes())
    assert hub.peak_bytes == max(used for _, used in hub.occupancy)


_starts = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1),
                       timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=2))]))


@settings(max_examples=500)
@given(_starts, st.integers(0, 10 * 366 * DAY))
def test_an_events_time_is_spelt_as_strftime_spells_it(start, now):
    log = EventLog(start)
    log.add(now, "x", id=1)
    plain = (start + dt.timedelta(microseconds=now)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert log.entries == [{"t": round(seconds(now), 3), "at": plain, "event": "x", "id": 1}]


class _Env:
    now = 0


@settings(max_examples=300)
@given(_starts, st.lists(st.integers(0, 10**12), max_size=20))
def test_the_clock_tells_each_instant_as_the_start_plus_the_ticks(start, instants):
    env = _Env()
    clock = SimClock(env, start)  # type: ignore[arg-type]
    for at in instants:
        env.now = at
        assert clock.now() == start + dt.timedelta(microseconds=at)
        assert clock.now() == start + dt.timedelta(microseconds=at)  # asked again, same instant


def test_a_file_its_context_closed_is_closed_as_close_leaves_it():
    storage = ShareStorage(100)
    storage.add_dir("r")
    share = MemoryShare(storage, "r", "share", lambda op: None, lambda: True)
    share.makedirs("d")
    with share.create("d/x") as by_context:
        by_context.write(b"1")
    by_close = share.create("d/y")
    by_close.write(b"1")
    by_close.close()
    for f in (by_context, by_close):
        assert f.closed
        with pytest.raises(ValueError, match="closed file"):
            f.write(b"2")
    assert share.stat("d") == ShareStat(0, True) and share.stat("d/x") == ShareStat(1, False)


def test_a_watched_share_and_its_files_answer_as_the_ones_they_wrap():
    # The wrappers pass on each call themselves, with no attribute fallback to the inner share.
    storage = ShareStorage(100)
    storage.add_dir("r")
    share = CrashPoints(_Host()).wrap(MemoryShare(storage, "r", "share", lambda op: None,
                                                  lambda: True))
    share.connect()
    assert share.transfer_encrypted is True and share.describe() == "share"
    share.makedirs("d")
    by_close = share.create("d/x")
    by_close.write(b"12")
    by_close.close()
    with pytest.raises(ValueError, match="closed file"):
        by_close.write(b"3")
    share.write_bytes("d/y", b"456")
    assert share.listdir("d") == ["x", "y"] and share.stat("d/x") == ShareStat(2, False)
    assert share.read_bytes("d/y") == b"456" and share.exists("d")
    assert (share.free_space(), share.total_space()) == (95, 100)
    share.rename("d", "e")
    share.remove("e/x")
    assert share.listdir("e") == ["y"]
    share.rmtree("e")
    assert share.listdir("") == [] and share.stat("e") is None
