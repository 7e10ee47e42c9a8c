#!/usr/bin/env python3
"""Mutation testing of engine/ and simulator/ with cosmic-ray: bounded, resumable, niced.

    python .ci/mutate.py [TARGET ...] [--minutes N] [--max-mutants N] [--report]

Each target (default: the sample in .ci/mutation.toml) has its own cosmic-ray session database
under .mutation/ (created by cosmic-ray's own init the first time); a run tests pending mutants
only, so stopping it at any moment loses at most the mutant in flight, and running it again
resumes. Mutants are taken round-robin over the targets, each target's in a fixed shuffled
order, so a bounded run samples every target and every mutation operator.

Mutants are applied to a scratch copy of the tree (.mutation/tree, refreshed every run), never
to the working tree: an interrupted run cannot leave a mutant behind, and one can keep working
meanwhile. The copy is imported as ``ibs.*`` through symlinks ahead of the editable install.
See docs/MUTATION.md.
"""

from __future__ import annotations

import argparse
import compileall
import fnmatch
import hashlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

from cosmic_ray.commands import init
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.work_db import WorkDB
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkItem, WorkResult

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".ci" / "mutation.toml"
PACKAGES = ("engine", "simulator", "scenarios", "reports", "fake_smb")


def _config() -> dict:
    with open(CONFIG, "rb") as f:
        return tomllib.load(f)


def _split(target: str) -> tuple[str, str | None]:
    path, _, name = target.partition("::")
    return path, name or None


def _tests_for(config: dict, path: str) -> list[str]:
    for group in config["group"]:
        if fnmatch.fnmatch(path, group["match"]):
            return group["tests"]
    raise SystemExit(f"mutate: no test group in {CONFIG.name} matches {path}; add one")


def _db_path(work: Path, target: str) -> Path:
    safe = target.replace("/", "_").replace("::", "__")
    return work / f"{safe}.sqlite"


def refresh_tree(work: Path) -> Path:
    """A fresh copy of the packages and tests, importable as ``ibs.*``; returns its root."""
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in (*PACKAGES, "tests"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    (tree / "ibs").mkdir()
    for name in PACKAGES:
        (tree / "ibs" / name).symlink_to(Path("..") / name)
    # Compiled once so each test run only recompiles the mutated module.
    compileall.compile_dir(tree, quiet=1)
    return tree


def _open(work: Path, target: str, check: bool = True) -> WorkDB:
    """The target's session database, made by cosmic-ray's init when it does not exist yet."""
    path, name = _split(target)
    db_file = _db_path(work, target)
    if not (ROOT / path).is_file():
        raise SystemExit(f"mutate: {path} is not a file under {ROOT}")
    # A session's mutants are numbered occurrences in the source it was made from: once the
    # module changes they point elsewhere, so a session is used only with its own source.
    stamp = db_file.with_suffix(".source-sha256")
    source = hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
    if check and db_file.exists() and (not stamp.exists() or stamp.read_text() != source):
        raise SystemExit(f"mutate: {path} changed since its session began; run again with "
                         f"--restart {target} to start that session over")
    db = WorkDB(str(db_file), WorkDB.Mode.create)
    if db.num_work_items == 0:  # new, or its init was interrupted
        stamp.write_text(source)
        init([Path(path)], db, {})
        if name is not None:
            # Out of scope: recorded as skipped, so they never count in the score.
            others = [item.job_id for item in db.pending_work_items
                      if item.mutations[0].definition_name != name]
            db.set_multiple_results(others, WorkResult(output="outside " + name,
                                                       worker_outcome=WorkerOutcome.SKIPPED))
    return db


def _forget_survivors(db_file: Path) -> set[str]:
    """Make the surviving mutants pending again (cosmic-ray's schema: one row per result);
    return their job ids."""
    if not db_file.exists():
        return set()
    with sqlite3.connect(db_file) as db:
        survived = (TestOutcome.SURVIVED.name,)
        ids = {row[0] for row in db.execute(
            "SELECT job_id FROM work_results WHERE test_outcome = ?", survived)}
        db.execute("DELETE FROM work_results WHERE test_outcome = ?", survived)
    return ids


def _order(item: WorkItem) -> str:
    m = item.mutations[0]
    # Stable across runs (job ids are random): the mutation itself decides its place.
    return hashlib.sha256(f"{m.module_path}:{m.operator_name}:{m.occurrence}".encode()).hexdigest()


def _run_tests_baseline(tree: Path, tests: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(_test_command(tests), check=False, cwd=tree, env=env, shell=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise SystemExit(f"mutate: the unmutated tests fail, so no mutant can be judged:\n{tail}")
    return time.monotonic() - start


def _test_command(tests: list[str]) -> str:
    return " ".join([shlex.quote(sys.executable), "-m", "pytest", "-x", "-q",
                     "-p", "no:cacheprovider", *map(shlex.quote, tests)])


def execute(targets: list[str], work: Path, minutes: float, max_mutants: int | None,
            first: set[str] | None = None) -> None:
    """Test pending mutants; ``first``: only these job ids (the survivors being retested)."""
    config = _config()
    tree = refresh_tree(work)
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    os.environ.update(env)  # cosmic-ray's run_tests passes os.environ on
    deadline = time.monotonic() + minutes * 60
    dbs = {t: _open(work, t) for t in targets}
    queues = {t: sorted((i for i in db.pending_work_items if first is None or i.job_id in first),
                        key=_order) for t, db in dbs.items()}
    timeouts: dict[str, float] = {}
    done = 0
    cwd = os.getcwd()
    os.chdir(tree)  # mutations name their module relative to the tree
    try:
        while any(queues.values()):
            for target in targets:
                if not queues[target]:
                    continue
                if time.monotonic() >= deadline or (max_mutants is not None and done >= max_mutants):
                    return
                path, _ = _split(target)
                tests = _tests_for(config, path)
                if target not in timeouts:
                    took = _run_tests_baseline(tree, tests, env)
                    timeouts[target] = max(config["min_timeout"], config["timeout_factor"] * took)
                    print(f"{target}: {len(queues[target])} mutants pending; unmutated tests "
                          f"{took:.1f} s, timeout {timeouts[target]:.0f} s", flush=True)
                item = queues[target].pop(0)
                result = mutate_and_test(item.mutations, _test_command(tests), timeouts[target])
                dbs[target].set_result(item.job_id, result)
                done += 1
                m = item.mutations[0]
                outcome = result.test_outcome.value if result.test_outcome else result.worker_outcome.value
                print(f"[{done}] {path}:{m.start_pos[0]} {m.operator_name} -> {outcome}", flush=True)
    finally:
        os.chdir(cwd)
        for db in dbs.values():
            db.close()


def report(targets: list[str], work: Path, show_survivors: bool) -> None:
    totals: Counter[str] = Counter()
    print(f"{'target':38} {'mutants':>7} {'tested':>6} {'killed':>6} {'survived':>8} {'score':>6}")
    for target in targets:
        if not _db_path(work, target).exists():
            print(f"{target:38} (no session yet)")
            continue
        db = _open(work, target, check=False)
        counts: Counter[str] = Counter()
        survivors = []
        for item, result in db.completed_work_items:
            if result.worker_outcome is WorkerOutcome.SKIPPED:
                continue
            if result.worker_outcome is not WorkerOutcome.NORMAL:
                counts["other"] += 1  # no mutation possible, or the mutation tooling failed
            elif result.test_outcome is TestOutcome.SURVIVED:
                counts["survived"] += 1
                survivors.append((item, result))
            else:
                counts["killed"] += 1  # a test failed, or the tests ran past the timeout
        pending = sum(1 for _ in db.pending_work_items)
        tested = counts["killed"] + counts["survived"]
        total = tested + counts["other"] + pending
        score = f"{100 * counts['killed'] / tested:.0f}%" if tested else "-"
        print(f"{target:38} {total:7} {tested:6} {counts['killed']:6} {counts['survived']:8} {score:>6}")
        totals.update(counts)
        totals["total"] += total
        if show_survivors:
            for item, result in sorted(survivors, key=lambda s: s[0].mutations[0].start_pos):
                m = item.mutations[0]
                print(f"  survived: {m.module_path}:{m.start_pos[0]} in {m.definition_name} "
                      f"({m.operator_name})")
                for line in (result.diff or "").splitlines()[2:]:
                    if line.startswith(("+", "-")):
                        print("    " + line)
        db.close()
    tested = totals["killed"] + totals["survived"]
    if tested:
        print(f"{'all':38} {totals['total']:7} {tested:6} {totals['killed']:6} "
              f"{totals['survived']:8} {100 * totals['killed'] / tested:5.0f}%")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Mutation testing of engine/ and simulator/ (cosmic-ray), bounded and resumable.")
    parser.add_argument("targets", nargs="*",
                        help="module paths, or path::name (default: the sample in .ci/mutation.toml)")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="stop starting mutants after this long (default: 30)")
    parser.add_argument("--max-mutants", type=int, default=None,
                        help="stop after testing this many mutants (default: no limit)")
    parser.add_argument("--work", type=Path, default=ROOT / ".mutation",
                        help="session databases and scratch tree (default: .mutation/)")
    parser.add_argument("--report", action="store_true", help="only print the scores")
    parser.add_argument("--survivors", action="store_true",
                        help="with the scores, list each surviving mutant and its change")
    parser.add_argument("--retest-survivors", action="store_true",
                        help="test only the survivors again (after adding tests); a run without it "
                             "resumes the rest")
    parser.add_argument("--restart", action="store_true",
                        help="forget the targets' sessions and start them again")
    args = parser.parse_args(argv)
    targets = args.targets or _config()["sample"]
    args.work.mkdir(parents=True, exist_ok=True)
    if args.restart:
        for target in targets:
            _db_path(args.work, target).unlink(missing_ok=True)
            _db_path(args.work, target).with_suffix(".source-sha256").unlink(missing_ok=True)
    first = None
    if args.retest_survivors:
        first = set().union(*(_forget_survivors(_db_path(args.work, t)) for t in targets))
    if not args.report:
        os.nice(10)  # the machine is shared: mutants yield to everyone else
        execute(targets, args.work, args.minutes, args.max_mutants, first)
    report(targets, args.work, args.survivors)


if __name__ == "__main__":
    main()
