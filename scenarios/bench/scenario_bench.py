"""``ibs bench scenario``: a scenario file of many events, loaded and run (issue 10: 10,000
events load in under 2 s, where tomllib parses the file in 0.4 s, and their run stays under
300 MB).

The file is made here, the same for the same arguments: a 4-node hub whose timeline takes each
kind of fault and operator change in turn, evenly spaced, each undone by a later event, so
that every event can take effect (the loader refuses one that cannot). Loading is timed
against tomllib parsing the same text, round after round in turn, and judged as their ratio:
the TOML is all a loader must read, and the rest is checking it. The run is ``ibs run`` of the
file in a child process, whose peak memory GNU time reads; the same scenario without its
events runs the same way beside it, so the report shows what the events cost.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Contender, Report, Steps, Target
from ibs.scenarios.bench.rounds import gnu_time, interleaved, measured, spread

if TYPE_CHECKING:
    from rich.console import Console

ROUNDS = 5
#: Loading may take this many times tomllib's parse of the same text: issue 10's 2 s for a file
#: tomllib parsed in 0.4 s.
MAX_LOAD_RATIO = 5.0
MAX_RUN_MB = 300.0  # issue 10's bound on the run of 10,000 events
HUB = 4

# One turn of the timeline, each change undone within it (name, then its parameters as TOML).
_TURN = (
    ("block_port_445", 'action = "reject"'),
    ("unblock_port_445", ""),
    ("dns_fail", ""),
    ("dns_restore", ""),
    ("firewall_rule_add", 'name = "bench"\naction = "drop"\nsource = "ERCS02"'),
    ("firewall_rule_remove", 'name = "bench"'),
    ("backup", ""),
    ("operator_frequency", "hours = 6"),
    ("operator_frequency", "hours = 12"),
    ("ercs_fail", 'vm = "ERCS03"'),
    ("ercs_restore", 'vm = "ERCS03"'),
)


class ScenarioReport(Report):
    """``Report`` titled by the file's events and days (it has no MiB of data)."""

    def _title(self) -> str:
        return (f"ibs bench scenario ({self.extra['events']:,} events, "
                f"{self.extra['days']:g} days)")


def spacing(events: int, days: float) -> int:
    """Whole seconds between two of ``events`` events spread evenly over ``days`` (0: they do
    not fit one second apart)."""
    return int(days * 86400) // (events + 1)


def many_events(events: int, days: float, seed: int = 3) -> str:
    """A scenario's TOML: a ``HUB``-node hub for ``days`` with ``events`` events, evenly spaced
    whole seconds apart (``_TURN`` over and over), and no expectation but one success."""
    step = spacing(events, days)
    if step < 1:
        raise ValueError(f"{events} events do not fit {days:g} days one second apart")
    lines = ["[scenario]", f'name = "{events} events over {days:g} days"',
             'tags = ["bench"]', f"hub = {HUB}", f"days = {days!r}", f"seed = {seed}", "",
             "[settings]", "frequency_hours = 12", "retention_days = 7", ""]
    for i in range(events):
        do, params = _TURN[i % len(_TURN)]
        lines += ["[[events]]", f'at = "{(i + 1) * step}s"', f'do = "{do}"']
        lines += [params, ""] if params else [""]
    lines += ["[expect]", "min_backups = { Succeeded = 1 }", ""]
    return "\n".join(lines)


def run_scenario_bench(events: int, days: float, console: Console) -> Report:
    from ibs.scenarios.loader import loads

    steps = Steps(console)
    text = many_events(events, days)
    bare = many_events(0, days)
    report = ScenarioReport("scenario", 0, _method(events, days))
    report.extra.update({"events": events, "days": days, "hub": HUB, "text_bytes": len(text)})

    def parse(_tag: str) -> float:
        t0 = time.perf_counter()
        tomllib.loads(text)
        return time.perf_counter() - t0

    def load(_tag: str) -> float:
        t0 = time.perf_counter()
        loaded = loads(text, "many-events.toml")
        took = time.perf_counter() - t0
        if len(loaded.events) != events:  # a bench of a loader that dropped events says nothing
            raise RuntimeError(f"the loader kept {len(loaded.events)} of {events} events")
        return took

    times = interleaved(steps, {"tomllib.loads": parse, "ibs loader": load}, ROUNDS)
    ratios = [b / a for a, b in zip(times["tomllib.loads"], times["ibs loader"], strict=True)]
    ratio = statistics.median(ratios)
    parse_s, load_s = (statistics.median(times[k]) for k in ("tomllib.loads", "ibs loader"))
    report.targets.append(Target(
        f"load / tomllib parse, {events:,} events", ratio, f"<= {MAX_LOAD_RATIO:g}x",
        ratio <= MAX_LOAD_RATIO,
        f"median of {ROUNDS} rounds' paired ratios (min {min(ratios):.2f}x, max "
        f"{max(ratios):.2f}x); loader {load_s:.3f} s vs tomllib {parse_s:.3f} s, medians, "
        f"{len(text):,} bytes of TOML"))
    report.contenders += [
        Contender("tomllib.loads (parse only)", parse_s, len(text), spread(times["tomllib.loads"])),
        Contender("ibs loader (parse and check)", load_s, len(text), spread(times["ibs loader"])),
    ]
    with tempfile.TemporaryDirectory(prefix="ibs-bench-scenario-") as tmp:
        runs = {name: _run(Path(tmp), name, body, steps)
                for name, body in (("without events", bare), (f"{events:,} events", text))}
    (_, bare_rss, bare_cpu), (wall, rss, cpu) = runs.values()
    report.targets.append(Target(
        f"peak RSS of ibs run, {events:,} events", rss, f"<= {MAX_RUN_MB:g} MB",
        rss <= MAX_RUN_MB,
        f"{rss:.0f} MB (GNU time) against {bare_rss:.0f} MB for the same {days:g} days without "
        f"events; {wall:.1f} s wall, {cpu:.1f} s CPU against {bare_cpu:.1f} s", unit="MB"))
    for name, (w, r, c) in runs.items():
        report.contenders.append(Contender(f"ibs run, {name}", w, 0,
                                           f"peak RSS {r:.0f} MB; CPU {c:.1f} s"))
    report.extra.update({"parse_rounds": times["tomllib.loads"], "load_rounds": times["ibs loader"],
                         "parse_seconds": parse_s, "load_seconds": load_s, "load_ratio": ratio,
                         "run_seconds": wall, "run_cpu_seconds": cpu, "run_peak_mb": rss,
                         "bare_run_peak_mb": bare_rss, "bare_run_cpu_seconds": bare_cpu})
    if gnu_time() is None:
        report.notes.append("GNU time is missing (Debian package time): the peak RSS is the "
                            "child's as the kernel reports it, which starts from this process's")
    return report


def _run(tmp: Path, name: str, body: str, steps: Steps) -> tuple[float, float, float]:
    """``ibs run`` of ``body`` in a child: wall seconds, peak RSS in MB, CPU seconds. The run
    must pass (``measured`` raises on its exit 1): a failed scenario's figures would be a
    failure's."""
    folder = tmp / name.replace(" ", "-").replace(",", "")
    folder.mkdir()
    path = folder / "scenario.toml"
    path.write_text(body)
    with steps.step(f"ibs run, {name}") as shown:
        wall, rss, _out, cpu = measured(
            [sys.executable, "-m", "ibs.engine.cli", "run", str(path), "--report-dir",
             str(folder / "report"), "-q"], dict(os.environ), f"ibs run of the scenario {name}")
        shown.measured = wall
    return wall, rss, cpu


def _method(events: int, days: float) -> str:
    return (
        f"The file: `many_events({events}, {days:g})` (scenarios/bench/scenario_bench.py), a "
        f"{HUB}-node hub over {days:g} days with {events:,} events evenly spaced, taking each "
        "kind of fault and operator change in turn, each undone by a later one. Loading: one "
        f"warm-up, then {ROUNDS} rounds, each timing `tomllib.loads` of the text and then "
        "`ibs.scenarios.loader.loads` of it (perf_counter); the ratio judged is the median of "
        "the rounds' ratios. Running: `python -m ibs.engine.cli run FILE -q` in a child under "
        "GNU time (peak RSS, `%M`), once for the file and once for the same scenario without "
        "events, which must both pass. The load bound is a ratio to tomllib in this run; the "
        "memory bound is the issue's absolute 300 MB, with the run without events beside it."
    )
