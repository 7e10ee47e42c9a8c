"""Shared pieces of ``ibs bench``: machine description, progress, timing, report writing."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

MIB = 1024 * 1024


def cpu_seconds() -> float:
    """This process's CPU time, user and system (run on a Dask worker: the worker's)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def sync() -> None:
    subprocess.run(["sync"], check=True)


def random_tree(root: Path, size_mib: int, files: int = 4) -> int:
    """``files`` large files of random data totalling ``size_mib`` MiB; returns the bytes."""
    root.mkdir(parents=True, exist_ok=True)
    total = size_mib * MIB
    per = [total // files] * files
    per[-1] += total - sum(per)
    block = 4 * MIB
    for i, n in enumerate(per):
        with open(root / f"data{i:02d}.bin", "wb") as f:
            left = n
            while left:
                k = min(block, left)
                f.write(os.urandom(k))
                left -= k
    return total


def read_all(root: Path) -> None:
    """Read every file once, so the page cache holds the source for every contender."""
    buf = bytearray(4 * MIB)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass


@dataclass
class Contender:
    name: str
    seconds: float | None
    nbytes: int
    note: str = ""

    @property
    def mb_s(self) -> float | None:
        return self.nbytes / 1e6 / self.seconds if self.seconds else None


@dataclass
class Target:
    name: str
    value: float | None  # the ratio (or MB figure) measured
    target: str  # e.g. ">= 2.0x"
    passed: bool | None  # None: not measured
    detail: str  # the absolute figures behind it
    unit: str = "x"


@dataclass
class Report:
    kind: str
    size_mib: int
    method: str
    machine: dict[str, object] = field(default_factory=machine)
    targets: list[Target] = field(default_factory=list)
    contenders: list[Contender] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def contender(self, name: str) -> Contender | None:
        return next((c for c in self.contenders if c.name == name), None)

    def ratio(self, name: str, fast: str, slow: str, minimum: float) -> None:
        """Throughput of ``fast`` over throughput of ``slow`` (= slow's seconds / fast's)."""
        a, b = self.contender(fast), self.contender(slow)
        a_mb = None if a is None else a.mb_s  # None when it has no time (not measured)
        b_mb = None if b is None else b.mb_s
        if a is None or b is None or a_mb is None or b_mb is None:
            missing = [c.name + (f" ({c.note})" if c.note else "") for c in (a, b)
                       if c is not None and not c.seconds]
            self.targets.append(Target(name, None, f">= {minimum:g}x", None,
                                       "not measured: " + ("; ".join(missing) or "missing")))
            return
        r = a_mb / b_mb
        self.targets.append(Target(
            name, r, f">= {minimum:g}x", r >= minimum,
            f"{a.name} {a_mb:.0f} MB/s ({a.seconds:.2f} s) vs {b.name} {b_mb:.0f} MB/s "
            f"({b.seconds:.2f} s)"))

    # -- output -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind, "size_mib": self.size_mib, "method": self.method,
            "machine": self.machine,
            "passed": all(t.passed is not False for t in self.targets),
            "targets": [asdict(t) for t in self.targets],
            "contenders": [dict(asdict(c), mb_s=c.mb_s) for c in self.contenders],
            "notes": self.notes, **self.extra,
        }

    # Hooks a report of another kind overrides; markdown() and print() stay shared.

    def _title(self) -> str:
        return f"ibs bench {self.kind} ({self.size_mib} MiB)"

    def _contender_table(self, markdown: bool) -> tuple[list[str], list[list[str]]]:
        heads = ["contender", "MB/s", "seconds"] + (["bytes"] if markdown else []) + ["note"]
        rows = []
        for c in self.contenders:
            cells = [c.name, f"{c.mb_s:.1f}" if c.mb_s else "-",
                     f"{c.seconds:.3f}" if c.seconds else "-"]
            rows.append(cells + ([str(c.nbytes)] if markdown else []) + [c.note])
        return heads, rows

    def _machine_extras(self) -> list[str]:
        return []

    def _markdown_tail(self) -> list[str]:
        return []

    def _print_tail(self, console: Console) -> None:
        pass

    def markdown(self) -> str:
        m = self.machine
        out = [f"# {self._title()}", ""]
        out += ["## Targets (ratios first)", "", "| comparison | measured | target | result | figures |",
                "|---|---|---|---|---|"]
        for t in self.targets:
            out.append(f"| {t.name} | {_fmt_value(t)} | {t.target} | {_verdict(t)} | {t.detail} |")
        heads, rows = self._contender_table(markdown=True)
        out += ["", "## Contenders", "", "| " + " | ".join(heads) + " |",
                "|" + "---|" * len(heads)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out += ["", "## Machine", "",
                f"- nproc: {m['nproc']}; memory: {m['memory_gib']} GiB; CPU: {m['cpu']}",
                "- " + "; ".join([f"Python {m['python']}", f"kernel {m['kernel']}",
                                  *self._machine_extras()]),
                "", "## Method", "", self.method]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        out += self._markdown_tail()
        return "\n".join(out) + "\n"

    def write(self, out: Path) -> tuple[Path, Path]:
        out.mkdir(parents=True, exist_ok=True)
        md = out / f"bench-{self.kind}.md"
        js = out / f"bench-{self.kind}.json"
        md.write_text(self.markdown())
        js.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return md, js

    def print(self, console: Console) -> None:
        from rich.table import Table

        t = Table(title=self._title(), title_justify="left")
        for col in ("comparison", "measured", "target", "result", "figures"):
            t.add_column(col)
        for tg in self.targets:
            colour = {True: "green", False: "red", None: "yellow"}[tg.passed]
            t.add_row(tg.name, _fmt_value(tg), tg.target, f"[{colour}]{_verdict(tg)}[/{colour}]",
                      tg.detail)
        console.print(t)
        heads, rows = self._contender_table(markdown=False)
        c = Table(title="contenders", title_justify="left")
        for col in heads:
            c.add_column(col)
        for row in rows:
            c.add_row(*row)
        console.print(c)
        m = self.machine
        console.print(", ".join([f"machine: {m['nproc']} CPUs", f"{m['memory_gib']} GiB",
                                 str(m["cpu"]), f"Python {m['python']}", f"kernel {m['kernel']}",
                                 *self._machine_extras()]))
        for n in self.notes:
            console.print(f"note: {n}")
        self._print_tail(console)


def _fmt_value(t: Target) -> str:
    if t.value is None:
        return "-"
    return f"{t.value:.2f}x" if t.unit == "x" else f"{t.value:.1f} {t.unit}"


def _verdict(t: Target) -> str:
    return {True: "PASS", False: "FAIL", None: "N/A"}[t.passed]


class Steps:
    """Progress on a terminal (a rich spinner per step), one plain line per step otherwise."""

    #: ``ibs bench --verbose``: a line as each step starts too (set once per command).
    announce = False

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[StepFigure]:
        """A step's line gives its wall time; where the step sets ``measured`` (a round, whose
        figure is only part of what it does), that figure first, so the line and the report
        agree."""
        if self.announce:
            self.console.print(f"  {what} ...", highlight=False)
        figure = StepFigure()
        t0 = time.perf_counter()
        if self.console.is_terminal:
            with self.console.status(what + " ..."):
                yield figure
        else:
            yield figure
        took = time.perf_counter() - t0
        shown = (f"{took:.2f} s" if figure.measured is None else
                 f"{figure.measured:.2f} s measured; with untimed setup and checks {took:.2f} s")
        self.console.print(f"  {what}: {shown}", highlight=False)


@dataclass
class StepFigure:
    """The seconds a step measured, where that is not the whole step."""
    measured: float | None = None


def small_files_tree(root: Path, count: int, min_size: int = 1024, max_size: int = 4096,
                     per_folder: int = 100, seed: int = 12) -> int:
    """``count`` files of random data, ``min_size``-``max_size`` bytes each, spread over about
    ``count / per_folder`` folders; returns the bytes. Sizes are seeded, contents are not (so
    nothing deduplicates)."""
    import random

    rng = random.Random(seed)
    folders = max(1, count // per_folder)
    for d in range(folders):
        (root / f"d{d:05d}").mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(count):
        size = rng.randint(min_size, max_size)
        with open(root / f"d{i % folders:05d}" / f"f{i:07d}.bin", "wb", buffering=0) as f:
            f.write(os.urandom(size))
        total += size
    return total


def same_tree(a: Path, b: Path) -> bool:
    """The same names and the same file contents everywhere below ``a`` and ``b``."""
    import filecmp

    for dirpath, dirs, files in os.walk(a):
        rel = os.path.relpath(dirpath, a)
        other = b / rel
        try:
            there = sorted(os.listdir(other))
        except OSError:
            return False
        if there != sorted(dirs + files):
            return False
        _match, mismatch, errors = filecmp.cmpfiles(dirpath, other, files, shallow=False)
        if mismatch or errors:
            return False
    return True
