"""``ibs bench all``: every performance figure in one run and one report.

Runs, one after the other in this process, the other kinds' own measuring functions (nothing is
measured twice or measured differently here):

- ``run_engine_bench``: engine backup and restore vs cp -r + sync, restic and borg; peak RSS;
- ``run_smb_bench``: engine over SMB to Samba vs plain smbprotocol; fake_smb with and without
  encryption;
- ``run_sim_bench``: simulated days per second vs bare SimPy (16-node hub);
- the stateful fuzzer: ``run_state_machine_as_test(HubMachine, ...)`` for N programs, in
  programs per second (a figure, no target).

and writes ``bench-all.md`` / ``bench-all.json``: ratios first (absolute figures beside), then
the targets of the earlier issues with PASS/FAIL, then every section's contenders.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Report, Steps, Target, _fmt_value, _verdict, machine

if TYPE_CHECKING:
    from rich.console import Console

SIM_NODES = 16
FUZZ_STEPS = 25

FUZZ_METHOD = (
    "`hypothesis.stateful.run_state_machine_as_test(scenarios.fuzz.HubMachine, settings="
    "settings(max_examples=N, stateful_step_count=25, deadline=None, database=None, "
    "derandomize=True, suppress_health_check=list(HealthCheck)))` (derandomized: every run, "
    "in CI or not, times the same programs), timed with perf_counter around the whole call "
    "(the rules, the invariants, Hypothesis' own generation). Programs = machines Hypothesis "
    "built (counted by a subclass's __init__), normally N. No target: a figure."
)


@dataclass
class Ratio:
    name: str
    value: float | None
    detail: str


@dataclass
class AllReport:
    size_mib: int
    sim_days: float
    fuzz_programs: int
    machine: dict[str, object] = field(default_factory=machine)
    sections: dict[str, Report] = field(default_factory=dict)
    fuzz: dict[str, object] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    targets: list[tuple[str, Target]] = field(default_factory=list)  # (section, target)
    notes: list[str] = field(default_factory=list)

    # -- assembling -----------------------------------------------------------------------------

    def collect(self) -> None:
        """Ratios and the targets table from the sections' own contenders and targets."""
        eng, smb, sim = (self.sections.get(k) for k in ("engine", "smb", "sim"))
        if eng is not None:
            for fast, slow in (("engine backup", "restic backup + sync"),
                               ("engine backup", "borg create + sync"),
                               ("engine backup", "cp -r + sync"),
                               ("engine restore + sync", "cp -r + sync")):
                self._ratio(eng, fast, slow)
        if smb is not None:
            self._ratio(smb, "engine backup to Samba", "plain smbprotocol copy to Samba")
            for op in ("write", "read"):
                self._ratio(smb, f"fake_smb {op} (SmbShare, 4 MiB)",
                            f"fake_smb {op} (SmbShare, 4 MiB, unencrypted)")
        if sim is not None:
            hub_s, bare_s = sim.extra.get("hub_seconds"), sim.extra.get("bare_seconds")
            ratio = sim.extra.get("ratio")  # the median of the rounds' paired ratios
            # Numbers when the sim section measured them (run_sim_bench's extra).
            if (isinstance(hub_s, int | float) and isinstance(bare_s, int | float)
                    and isinstance(ratio, int | float) and hub_s and bare_s and ratio):
                self.ratios.append(Ratio(
                    "hub time / bare SimPy time (same events; lower is better)",
                    ratio,
                    f"hub {hub_s:.4g} s = {self.sim_days / hub_s:.1f} simulated days/s, "
                    f"{sim.extra['hub_events_per_s']:,.0f} events/s; bare SimPy {bare_s:.4g} s "
                    f"= {sim.extra['bare_events_per_s']:,.0f} events/s"))
        for section in ("engine", "smb", "sim"):
            rep = self.sections.get(section)
            if rep is not None:
                self.targets += [(section, t) for t in rep.targets]

    def _ratio(self, rep: Report, fast: str, slow: str) -> None:
        a, b = rep.contender(fast), rep.contender(slow)
        name = f"{fast} vs {slow}"
        if a is None or b is None or not a.mb_s or not b.mb_s:
            why = "; ".join(c.note for c in (a, b) if c is not None and not c.mb_s) or "missing"
            self.ratios.append(Ratio(name, None, f"not measured: {why}"))
            return
        self.ratios.append(Ratio(name, a.mb_s / b.mb_s,
                                 f"{a.mb_s:.1f} MB/s ({a.seconds:.3f} s) vs "
                                 f"{b.mb_s:.1f} MB/s ({b.seconds:.3f} s)"))

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for _s, t in self.targets)

    # -- output ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "all", "size_mib": self.size_mib, "sim_days": self.sim_days,
            "sim_nodes": SIM_NODES, "fuzz_programs": self.fuzz_programs,
            "machine": self.machine, "passed": self.passed,
            "ratios": [asdict(r) for r in self.ratios],
            "targets": [dict(asdict(t), section=s) for s, t in self.targets],
            "sections": {k: r.to_json() for k, r in self.sections.items()},
            "fuzz": self.fuzz, "notes": self.notes,
        }

    def markdown(self) -> str:
        m = self.machine
        out = [(f"# ibs bench all ({self.size_mib} MiB, {self.sim_days:g} simulated days, "
                f"{self.fuzz_programs} fuzz programs)"), ""]
        out += ["## Ratios", "", "| comparison | ratio | absolute figures |", "|---|---|---|"]
        for r in self.ratios:
            out.append(f"| {r.name} | {_x(r.value)} | {r.detail} |")
        f = self.fuzz
        if f:
            out.append(f"| stateful fuzzing (HubMachine) | - | {_num(f.get('programs_per_s'), '.2f')} "
                       f"programs/s ({f.get('programs')} programs in {_num(f.get('seconds'), '.2f')} s) |")
        out += ["", "## Targets of the earlier issues", "",
                "| section | target | measured | goal | result | figures |",
                "|---|---|---|---|---|---|"]
        for s, t in self.targets:
            out.append(f"| {s} | {t.name} | {_fmt_value(t)} | {t.target} | {_verdict(t)} | "
                       f"{t.detail} |")
        out.append("")
        out.append(f"Overall: {'PASS' if self.passed else 'FAIL'} "
                   "(N/A, not measured, does not count as a failure)")
        out += ["", "## Machine", "",
                f"- nproc: {m['nproc']}; memory: {m['memory_gib']} GiB; CPU: {m['cpu']}",
                f"- Python {m['python']}; kernel {m['kernel']}"]
        titles = {"engine": "Engine, local (backup and restore vs cp, restic, borg)",
                  "smb": "Engine over SMB (Samba vs plain smbprotocol; fake_smb)",
                  "sim": f"Simulator ({self.sim_days:g} days, {SIM_NODES}-node hub vs bare SimPy)"}
        for key, rep in self.sections.items():
            out += ["", f"## {titles.get(key, key)}", ""]
            out += _section_body(rep)
        out += ["", "## Stateful fuzzing", ""]
        if f:
            out += ["| machine | programs | seconds | programs/s | steps per program |",
                    "|---|---|---|---|---|",
                    (f"| {f['machine']} | {f['programs']} | {_num(f['seconds'], '.3f')} | "
                     f"{_num(f['programs_per_s'], '.2f')} | {FUZZ_STEPS} (max) |"), "",
                    f"Method: {FUZZ_METHOD}"]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def write(self, out: Path) -> tuple[Path, Path]:
        out.mkdir(parents=True, exist_ok=True)
        md, js = out / "bench-all.md", out / "bench-all.json"
        md.write_text(self.markdown())
        js.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return md, js

    def print(self, console: Console) -> None:
        from rich.table import Table

        t = Table(title="ibs bench all: ratios", title_justify="left")
        for col in ("comparison", "ratio", "absolute figures"):
            t.add_column(col)
        for r in self.ratios:
            t.add_row(r.name, _x(r.value), r.detail)
        if self.fuzz:
            t.add_row("stateful fuzzing (HubMachine)", "-",
                      f"{_num(self.fuzz.get('programs_per_s'), '.2f')} programs/s")
        console.print(t)
        g = Table(title="targets of the earlier issues", title_justify="left")
        for col in ("section", "target", "measured", "goal", "result", "figures"):
            g.add_column(col)
        for s, tg in self.targets:
            colour = {True: "green", False: "red", None: "yellow"}[tg.passed]
            g.add_row(s, tg.name, _fmt_value(tg), tg.target,
                      f"[{colour}]{_verdict(tg)}[/{colour}]", tg.detail)
        console.print(g)
        m = self.machine
        console.print(f"machine: {m['nproc']} CPUs, {m['memory_gib']} GiB, {m['cpu']}, "
                      f"Python {m['python']}, kernel {m['kernel']}")
        for n in self.notes:
            console.print(f"note: {n}")


def _section_body(rep: Report) -> list[str]:
    """A section's contenders, method and notes: the part of its own markdown after its targets
    (which are in the targets table above), without its machine section and notes (both
    given once, at the end)."""
    md = rep.markdown()
    keep: list[str] = []
    skip = True
    for line in md.splitlines():
        if line.startswith("## "):
            skip = line in ("## Targets (ratios first)", "## Machine", "## Notes")
            if not skip:
                line = "#" + line  # a sub-heading of this section
        if not skip:
            keep.append(line)
    return keep


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _num(v: object, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


# --- the run -------------------------------------------------------------------------------------


def fuzz_rate(programs: int) -> dict[str, object]:
    """Time the stateful fuzzer for ``programs`` programs; programs per second."""
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz import HubMachine
    from ibs.scenarios.fuzz_constants import seed_only

    built = [0]

    class CountingHubMachine(HubMachine):
        def __init__(self) -> None:
            built[0] += 1
            super().__init__()

    t0 = time.perf_counter()
    config = settings(max_examples=programs, stateful_step_count=FUZZ_STEPS, deadline=None,
                      database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    with seed_only():
        run_state_machine_as_test(CountingHubMachine, settings=config)
    took = time.perf_counter() - t0
    return {"machine": "ibs.scenarios.fuzz.HubMachine", "max_examples": programs,
            "programs": built[0], "seconds": took,
            "programs_per_s": built[0] / took if took else None, "method": FUZZ_METHOD}


def run_all_bench(size_mib: int, sim_days: float, fuzz_programs: int, console: Console,
                  keep: bool = False) -> AllReport:
    from ibs.scenarios.bench.engine_bench import run_engine_bench
    from ibs.scenarios.bench.sim_bench import run_sim_bench
    from ibs.scenarios.bench.smb_bench import run_smb_bench

    report = AllReport(size_mib, sim_days, fuzz_programs)
    console.print(f"-- engine, local ({size_mib} MiB)")
    report.sections["engine"] = run_engine_bench(size_mib, console, keep)
    console.print(f"-- engine over SMB, fake_smb ({size_mib} MiB)")
    report.sections["smb"] = run_smb_bench(size_mib, console, keep)
    console.print(f"-- simulator ({sim_days:g} days, {SIM_NODES}-node hub)")
    report.sections["sim"] = run_sim_bench(sim_days, SIM_NODES, console)
    console.print(f"-- stateful fuzzing ({fuzz_programs} programs)")
    with Steps(console).step(f"HubMachine, {fuzz_programs} programs"):
        try:
            report.fuzz = fuzz_rate(fuzz_programs)
        except Exception as exc:  # noqa: BLE001 - a failing program (any exception hypothesis re-raises): no rate, but say so in the report
            report.fuzz = {"machine": "ibs.scenarios.fuzz.HubMachine", "max_examples": fuzz_programs,
                           "programs": 0, "seconds": None, "programs_per_s": None,
                           "method": FUZZ_METHOD, "error": f"{type(exc).__name__}: {exc}"[:500]}
            report.notes.append("the stateful fuzzer found a failing program; no rate measured: "
                                + str(report.fuzz["error"]))
    for key, rep in report.sections.items():
        report.notes += [f"{key}: {n}" for n in rep.notes]
    report.collect()
    return report
