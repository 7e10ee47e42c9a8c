"""The ``ibs`` pytest plugin: fixtures and scenario files for users' own tests.

Loaded automatically once ``ibs-simulator`` is installed (the ``pytest11`` entry point ``ibs``).

Fixtures
    ``fake_smb_server``  a started FakeSmbServer on 127.0.0.1 (``.unc .user .password .port
                         .server .share_dir .folder``), stopped after the test
    ``samba_server``     the same shape on a real Samba smbd; skipped unless Samba is available,
                         a failure instead when ``IBS_REQUIRE_SAMBA=1``
    ``simulated_hub``    a factory ``simulated_hub(hub=4, days=None, seed=1, fidelity="sim",
                         **settings) -> Hub``; every hub is closed after the test
    ``ibs_engine``       a Controller on a scratch store, a local share folder, an RSA-2048
                         certificate pair (made once per session) and two small role sources

Scenario files
    Files named ``scenario_*.toml`` or ``*.scenario.toml`` are collected as test items, one per
    file, and run with ``run_scenario``. ``--ibs-fidelity sim|wire`` overrides their fidelity.
    ``assert_scenario(path_or_scenario)`` does the same from Python code.

Only the standard library and pytest are imported at start-up; the engine and the simulator
are imported when a fixture or a scenario item first needs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# The fixtures live in their own module; pytest finds them in the plugin by these names.
from ibs.scenarios.fixtures import (  # noqa: F401
    EngineRig,
    SmbTarget,
    _ibs_cert_pair,
    fake_smb_server,
    ibs_engine,
    samba_server,
    simulated_hub,
)

if TYPE_CHECKING:
    # pytest exports no public names for repr_failure's style and result.
    from _pytest._code.code import TerminalRepr, TracebackStyle

    from ibs.scenarios.model import Scenario
    from ibs.scenarios.runner import ScenarioResult

__all__ = [
    "EngineRig",
    "ScenarioFailure",
    "SmbTarget",
    "assert_scenario",
    "format_failure",
]

_SCENARIO_SUFFIX = ".scenario.toml"


# --- running a scenario as a test -------------------------------------------------------------


class ScenarioFailure(AssertionError):
    """A scenario ran and at least one expectation did not hold (or the run broke)."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        super().__init__(format_failure(result))


def format_failure(result: ScenarioResult) -> str:
    """The failed checks of a result, its error if the run broke, and the replay command."""
    lines = [f"scenario {result.name!r} failed (seed {result.seed}, fidelity {result.fidelity})"]
    failed = [c for c in result.checks if not c.get("passed")]
    for check in failed:
        lines.append(f"  FAILED {check['name']}: {check['detail']}")
    if result.error and not any(c["name"] == "scenario runs to the end" for c in failed):
        lines.append(f"  ERROR {result.error}")
    for entry in result.events:
        if entry.get("event") == "traceback":
            lines.append(entry.get("text", "").rstrip())
    lines.append(f"replay: {result.replay}")
    return "\n".join(lines)


def _as_scenario(path_or_scenario: Any) -> Scenario:
    from ibs.scenarios.loader import load
    from ibs.scenarios.model import Scenario

    if isinstance(path_or_scenario, Scenario):
        return path_or_scenario
    if isinstance(path_or_scenario, (str, os.PathLike)):
        return load(Path(path_or_scenario))
    raise TypeError(f"expected a scenario file path or a Scenario, not {type(path_or_scenario).__name__}")


def assert_scenario(path_or_scenario: str | os.PathLike[str] | Scenario, *,
                    fidelity: str | None = None, seed: int | None = None) -> ScenarioResult:
    """Run a scenario (a TOML file or a ``Scenario``); return its result if every check holds.

    Raises ``ScenarioError`` for a bad file (``file:line: key: ...``) and ``AssertionError``
    (a ``ScenarioFailure``) listing the failed checks and the command that replays the run.
    """
    from ibs.scenarios.runner import run_scenario

    if fidelity not in (None, "sim", "wire"):
        raise ValueError(f"fidelity must be 'sim' or 'wire', not {fidelity!r}")
    scenario = _as_scenario(path_or_scenario).with_overrides(fidelity=fidelity, seed=seed)
    result = run_scenario(scenario)
    if not result.passed:
        raise ScenarioFailure(result)
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ibs", "IBS scenario files")
    group.addoption("--ibs-fidelity", action="store", choices=("sim", "wire"), default=None,
                    dest="ibs_fidelity",
                    help="run collected scenario_*.toml files at this fidelity (overrides the "
                         "file's own 'fidelity')")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ibs_scenario: a test item collected from a scenario TOML file")


def _is_scenario_file(path: Path) -> bool:
    name = path.name
    return (name.startswith("scenario_") and name.endswith(".toml")) or (
        name.endswith(_SCENARIO_SUFFIX) and len(name) > len(_SCENARIO_SUFFIX))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _display_path(path: Path, config: pytest.Config) -> str:
    """The path as the user would type it: relative to where pytest was started, if under it."""
    try:
        return os.path.relpath(path, config.invocation_params.dir) \
            if path.is_relative_to(config.invocation_params.dir) else str(path)
    except ValueError:
        return str(path)


class ScenarioFile(pytest.File):
    """A scenario TOML file: one test item, or a collection error saying ``file:line: key: ...``."""

    def collect(self) -> Iterator[ScenarioItem]:
        from ibs.scenarios.loader import ScenarioError, loads

        shown = _display_path(self.path, self.config)
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{shown}: cannot read: {exc.strerror}") from None
        scenario = loads(text, shown)
        name = self.path.name.removesuffix(_SCENARIO_SUFFIX).removesuffix(".toml")
        yield ScenarioItem.from_parent(self, name=name, scenario=scenario)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        from ibs.scenarios.loader import ScenarioError

        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        # A collector's repr_failure takes no style (pytest's Collector narrows Node's).
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: ScenarioResult | None = None
        self.add_marker(pytest.mark.ibs_scenario)
        # -k matches the scenario's tags and the words of its name.
        self.extra_keyword_matches.update(scenario.tags)
        self.extra_keyword_matches.update(scenario.name.split())

    def runtest(self) -> None:
        from ibs.scenarios.runner import run_scenario

        fidelity = self.config.getoption("ibs_fidelity", None)
        scenario = self.scenario.with_overrides(fidelity=fidelity)
        self.result = run_scenario(scenario)
        self.user_properties.append(("seed", scenario.seed))
        self.user_properties.append(("fidelity", scenario.fidelity))
        self.user_properties.append(("replay", self.result.replay))
        if not self.result.passed:
            raise ScenarioFailure(self.result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.scenario.name}"
