"""``ibs run``: run scenario suites, show progress, print a summary, write the reports.

With no path it runs the built-in library at wire fidelity: every backup crosses real SMB 3
to the embedded fake_smb server. The exit code is 0 only when every expectation holds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ibs.engine.cli.verbosity import QUIET, VERBOSE, add_verbosity, level
from ibs.engine.cli.vocab import renamed
from ibs.engine.errors import BadInput
from ibs.scenarios.loader import load
from ibs.scenarios.model import Scenario
from ibs.scenarios.runner import ScenarioResult, run_scenario
from ibs.scenarios.secret_scan import scan_for_secrets
from ibs.simulator.cluster import add_options as add_cluster_options
from ibs.simulator.cluster import check_options as check_cluster_options

LIBRARY = Path(__file__).parent / "library"
SUMMARY_COLUMNS = 100


def register(sub) -> None:
    p = sub.add_parser("run", help="run scenario suites (default: the built-in library over SMB)",
                       description="Run scenario files (docs/SCENARIOS.md), print a summary and "
                       "write the reports; exit 0 only when every expectation holds.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="scenario files or folders of them")
    p.add_argument("--fidelity", choices=("sim", "wire"),
                   help="override every scenario's fidelity (default: wire for the built-in "
                        "library, else each file's own)")
    p.add_argument("--seed", type=int,
                   help="override every scenario's seed (default: each file's own)")
    p.add_argument("-k", dest="keyword", metavar="EXPR",
                   help="run scenarios whose name or tags match, e.g. 'smb and not encryption'")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="run scenarios with this tag (repeat for any of several)")
    add_cluster_options(p, "scenarios")
    p.add_argument("--report-dir", default="ibs-report", metavar="DIR",
                   help="folder for report.html, report.md, report.json and junit.xml "
                        "(default: %(default)s)")
    renamed(p, "--report", "--report-dir", dest="report_dir", metavar="DIR")
    p.add_argument("--junit", metavar="FILE",
                   help="also write JUnit XML here (default: only junit.xml in --report-dir)")
    p.add_argument("--timings", action="store_true",
                   help="also write each scenario's wall-clock seconds into the reports; without "
                        "it the same scenarios and seeds give byte-identical reports")
    p.add_argument("--list", action="store_true", help="list the selected scenarios; run nothing")
    add_verbosity(p, quiet="no progress, no line per scenario and no table; only each failure "
                  "with its replay line, and the count",
                  verbose="each check of each scenario, passed or failed, as the scenario ends")
    p.add_argument("--check-determinism", action="store_true",
                   help="run each selected scenario twice and compare its events and files; "
                        "exit 1 naming the first difference (no reports written)")
    p.set_defaults(func=run)


def discover(paths: list[str]) -> list[str]:
    found: list[str] = []
    for raw in paths or [str(LIBRARY)]:
        path = Path(raw)
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*.toml"))
        elif path.is_file():
            found.append(str(path))
        else:
            raise BadInput(f"{raw}: no such scenario file or folder")
    if not found:
        raise BadInput(f"no scenario files (*.toml) in {', '.join(paths)}")
    return found


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def keyword_matcher(expr: str):
    """pytest's -k: words match as substrings of name and tags; and, or, not, parentheses."""
    parts: list[str] = []
    words: list[str] = []
    for token in _TOKEN.findall(expr):
        if token in ("and", "or", "not", "(", ")"):
            parts.append(token)
        else:
            parts.append(f"w[{len(words)}]")
            words.append(token.lower())
    code = " ".join(parts)
    try:
        compiled = compile(code, "<-k>", "eval")
        eval(compiled, {"__builtins__": {}}, {"w": [False] * len(words)})
    except SyntaxError:
        raise BadInput(f"-k {expr!r} is not a valid expression (words, and, or, not, parentheses)") from None

    def matches(scenario: Scenario) -> bool:
        haystack = " ".join([scenario.name, *scenario.tags, Path(scenario.path).stem]).lower()
        return bool(eval(compiled, {"__builtins__": {}}, {"w": [w in haystack for w in words]}))

    return matches


def select(args: argparse.Namespace) -> list[Scenario]:
    files = discover(args.paths)
    scenarios = [load(f) for f in files]  # every file is checked before anything runs
    fidelity = args.fidelity or ("wire" if not args.paths else None)
    scenarios = [s.with_overrides(fidelity=fidelity, seed=args.seed) for s in scenarios]
    if args.tag:
        scenarios = [s for s in scenarios if set(args.tag) & set(s.tags)]
    if args.keyword:
        matches = keyword_matcher(args.keyword)
        scenarios = [s for s in scenarios if matches(s)]
    if not scenarios:
        raise BadInput("no scenario matches the selection")
    return scenarios


def run(args: argparse.Namespace) -> int:
    check_cluster_options(args.jobs, args.cluster)
    scenarios = select(args)  # a ScenarioError (file:line: key: what) stops everything
    if args.list:
        for s in scenarios:
            print(f"{s.path}  [{', '.join(s.tags)}]  {s.name}")
        return 0
    if args.check_determinism:
        from ibs.scenarios.determinism import check_scenarios

        return check_scenarios(scenarios)
    results = execute(scenarios, args.jobs, cluster=args.cluster, verbosity=level(args))
    return finish(scenarios, results, args)


def execute(scenarios: list[Scenario], jobs: int, cluster: str | None = None,
            verbosity: int = 0) -> list[ScenarioResult]:
    """Every scenario's result, in the order given: in this process, or on Dask workers when
    ``cluster`` names a scheduler or ``jobs`` is more than 1. Progress goes to stderr (none
    when ``verbosity`` is QUIET; each check too when VERBOSE)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, quiet=verbosity == QUIET)

    def done(result: ScenarioResult) -> None:
        mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        console.print(f"{mark}  {result.name} ({result.fidelity}, {result.seconds:.1f} s)",
                      soft_wrap=True)
        if verbosity >= VERBOSE:  # the checks are decided together, once the hub has run
            for c in result.checks:
                word = "ok  " if c["passed"] else "[red]FAIL[/red]"
                console.print(f"  {word}  {escape(c['name'])}: {escape(str(c['detail']))}",
                              soft_wrap=True)

    def started(s: Scenario) -> None:  # a log or a pipe has no bar: say what runs, now
        console.print(f"start {s.name} ({s.fidelity}, seed {s.seed})", soft_wrap=True)

    if cluster is None and jobs == 1:
        return _serial(scenarios, console, started, done)
    from ibs.scenarios.tasks import run_scenario_text, scenario_cost
    from ibs.simulator import cluster as dask_cluster

    # The worker gets the text, not the path: it may be another machine. The overrides are
    # already in the Scenario, and are passed again so the text's own values cannot win.
    calls = [(Path(s.path).read_text(encoding="utf-8"), s.path, s.fidelity, s.seed)
             for s in scenarios]
    with dask_cluster.client(cluster, jobs) as c, \
            dask_cluster.Progress("scenarios", console) as progress:
        raw = dask_cluster.run_tasks(c, run_scenario_text, calls, label="scenario",
                                     on_result=lambda i, r: done(ScenarioResult(**r)),
                                     on_tally=progress, failed=lambda r: not r["passed"],
                                     on_start=None if console.is_terminal
                                     else lambda i: started(scenarios[i]),
                                     costs=[scenario_cost(s.days, s.fidelity) for s in scenarios])
    return [ScenarioResult(**r) for r in raw]


def _serial(scenarios: list[Scenario], console, started, done) -> list[ScenarioResult]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    results = []
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=console.quiet or not console.is_terminal) as bar:
        task = bar.add_task("scenarios", total=len(scenarios))
        for s in scenarios:
            bar.update(task, description=s.name[:40])
            if not console.is_terminal:
                started(s)
            results.append(run_scenario(s))
            done(results[-1])
            bar.advance(task)
    return results


def finish(scenarios: list[Scenario], results: list[ScenarioResult], args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ibs.reports.scenario_report import write_reports
    from ibs.scenarios.secrets import scenario_secrets

    # Off a terminal rich would take 80 columns; 100 fits a log viewer and a CI page.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else SUMMARY_COLUMNS)
    paths = write_reports([r.to_json(timings=args.timings) for r in results], args.report_dir,
                          junit=args.junit)
    # The reports are read by people and machines far from the stamp: prove they hold no secret.
    secrets = [s for sc in scenarios for s in scenario_secrets(sc)]
    leaked = scan_for_secrets(args.report_dir, secrets)
    if args.junit:
        leaked += scan_for_secrets(os.path.dirname(os.path.abspath(args.junit)), secrets) \
            if os.path.exists(args.junit) else []
    if level(args) != QUIET:
        table = Table(title="scenario suite", title_justify="left", show_edge=False,
                      header_style="bold")
        for col in ("scenario", "tags", "fidelity", "result", "checks", "seconds"):
            table.add_column(col)
        for r in results:
            good = sum(c["passed"] for c in r.checks)
            table.add_row(r.name, ", ".join(r.tags), r.fidelity,
                          "[green]pass[/green]" if r.passed else "[red]FAIL[/red]",
                          f"{good}/{len(r.checks)}", f"{r.seconds:.1f}")
        out.print(table)
    failed = [r for r in results if not r.passed]
    for r in failed:
        out.print(f"\n[bold red]FAILED[/bold red] {r.name} (seed {r.seed}, {r.fidelity})")
        for c in r.checks:
            if not c["passed"]:
                out.print(f"  {c['name']}: {c['detail']}")
        out.print(f"  replay: {r.replay}", soft_wrap=True)  # one line, to copy whole
    if leaked:
        out.print(f"[bold red]secrets found in reports:[/bold red] {', '.join(sorted(set(leaked)))}")
    passed = len(results) - len(failed)
    out.print(f"\n{passed} passed, {len(failed)} failed; reports in {args.report_dir}/ "
              f"({', '.join(os.path.basename(p) for p in paths.values())})")
    return 0 if not failed and not leaked else 1
