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
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ibs.engine.clock import ManualClock
    from ibs.engine.controller import Controller
    from ibs.scenarios.model import Scenario
    from ibs.scenarios.runner import ScenarioResult
    from ibs.simulator.hub import Hub

__all__ = [
    "EngineRig",
    "ScenarioFailure",
    "SmbTarget",
    "assert_scenario",
    "format_failure",
]

SHARE_NAME = "backup"
SHARE_FOLDER = "ibs"
SMB_USER = "ibs-user"
SAMBA_ENV = "IBS_REQUIRE_SAMBA"
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
        return load(path_or_scenario)
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

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None):  # noqa: ANN001
        from ibs.scenarios.loader import ScenarioError

        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


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

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None):  # noqa: ANN001
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.scenario.name}"


# --- SMB servers ------------------------------------------------------------------------------


@dataclass
class SmbTarget:
    """A running SMB server and everything a client needs to reach its backup folder."""

    unc: str  # \\127.0.0.1\backup\<folder>
    user: str
    password: str
    port: int
    server: Any  # FakeSmbServer or SambaServer
    share_dir: Path  # the share's root on the local disk
    folder: str = SHARE_FOLDER

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def folder_dir(self) -> Path:
        """The backup folder on the local disk (what ``unc`` names)."""
        return self.share_dir / self.folder


def _share_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    share_dir = tmp_path_factory.mktemp("ibs-share")
    (share_dir / SHARE_FOLDER).mkdir()
    return share_dir


def _password() -> str:
    return "Ibs-" + secrets.token_urlsafe(12)


@pytest.fixture
def fake_smb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmbTarget]:
    """A FakeSmbServer on 127.0.0.1 (a free port) serving a scratch folder; stopped afterwards."""
    from ibs.fake_smb.server import FakeSmbServer

    share_dir = _share_dir(tmp_path_factory)
    password = _password()
    server = FakeSmbServer(share_dir, share_name=SHARE_NAME, users={SMB_USER: password})
    server.start()
    try:
        yield SmbTarget(f"\\\\127.0.0.1\\{SHARE_NAME}\\{SHARE_FOLDER}", SMB_USER, password,
                        server.port, server, share_dir)
    finally:
        server.stop()


def require_samba() -> None:
    """Skip the test unless Samba can run here; fail it instead when IBS_REQUIRE_SAMBA=1."""
    from ibs.fake_smb.samba import SambaServer

    if SambaServer.available():
        return
    if os.environ.get(SAMBA_ENV) == "1":
        pytest.fail(f"{SAMBA_ENV}=1 but smbd/smbpasswd/nss_wrapper are missing or not root")
    pytest.skip("needs Samba smbd, smbpasswd and libnss-wrapper, as root")


@pytest.fixture
def samba_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmbTarget]:
    """A real Samba smbd on 127.0.0.1, shaped like ``fake_smb_server``; stopped afterwards."""
    require_samba()
    from ibs.fake_smb.samba import SambaServer

    share_dir = _share_dir(tmp_path_factory)
    password = _password()
    with SambaServer(share_dir, users={SMB_USER: password}, share_name=SHARE_NAME) as server:
        yield SmbTarget(f"\\\\127.0.0.1\\{SHARE_NAME}\\{SHARE_FOLDER}", SMB_USER, password,
                        server.port, server, share_dir)


# --- the simulated hub ------------------------------------------------------------------------

def _hub_settings() -> tuple[str, ...]:
    from ibs.scenarios.loader import SETTINGS_KEYS  # one home for a scenario's [settings] keys

    return (*SETTINGS_KEYS, "identity", "stamp_version")


def make_hub(hub: str | int = "4", days: float | None = None, seed: int = 1,
             fidelity: str = "sim", **settings: Any) -> Hub:
    """A simulated hub as a scenario file would build it; run for ``days`` if given.

    ``settings`` are the keys of a scenario's ``[settings]`` table, plus ``identity`` and
    ``stamp_version``. The caller closes the hub.
    """
    from ibs.scenarios.model import Expectations, Scenario
    from ibs.scenarios.runner import build_hub

    allowed = _hub_settings()
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise TypeError(f"unknown hub setting(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    spec = str(hub).lower()
    if spec != "asdk" and not (spec.isdigit() and 4 <= int(spec) <= 16):
        raise ValueError(f"hub must be 'asdk' or a node count from 4 to 16, not {hub!r}")
    identity = settings.pop("identity", "ADFS")
    version = settings.pop("stamp_version", "1.2408.1.50")
    scenario = Scenario(name="simulated_hub", path="<simulated_hub>", description="", tags=(),
                        hub=spec, identity=identity, stamp_version=version, fidelity=fidelity,
                        days=float(days or 1), seed=seed, settings=settings, events=(),
                        expect=Expectations())
    built = build_hub(scenario)
    if days:
        try:
            built.run(days)
        except BaseException:
            built.close()
            raise
    return built


@pytest.fixture
def simulated_hub() -> Iterator[Any]:
    """A factory ``simulated_hub(hub="4"|"asdk"|int, days=None, seed=1, fidelity="sim", **settings)``.

    Returns a ``simulator.hub.Hub`` (run for ``days`` when given); every hub made is closed
    after the test.
    """
    made: list[Hub] = []

    def factory(hub: str | int = "4", days: float | None = None, seed: int = 1,
                fidelity: str = "sim", **settings: Any) -> Hub:
        built = make_hub(hub, days, seed, fidelity, **settings)
        made.append(built)
        return built

    yield factory
    for built in reversed(made):
        built.close()


# --- the engine -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CertPair:
    cer: bytes
    pfx: bytes
    password: str


@pytest.fixture(scope="session")
def _ibs_cert_pair() -> _CertPair:
    import datetime as dt

    from ibs.engine.certs import new_certificate

    password = "ibs-pfx-" + secrets.token_urlsafe(9)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cer, pfx = new_certificate("IBS plugin test", password, now=now)
    return _CertPair(cer, pfx, password)


@dataclass
class EngineRig:
    """A controller ready to back up: local share folder, certificate and role sources set."""

    controller: Controller
    clock: ManualClock
    store_dir: Path
    share_dir: Path
    cer: bytes
    pfx: bytes
    pfx_password: str
    sources: dict[str, Path] = field(default_factory=dict)

    @property
    def key(self):  # noqa: ANN201 - engine.certs.DecryptionKey
        """The decryption key from the PFX, for verify and restore."""
        from ibs.engine.certs import load_pfx

        return load_pfx(self.pfx, self.pfx_password)

    def backup(self, trigger: str = "OnDemand"):  # noqa: ANN201 - engine.history.BackupRecord
        """Run one backup to the end and return its record."""
        return self.controller.start_backup(trigger).run()


@pytest.fixture
def ibs_engine(tmp_path_factory: pytest.TempPathFactory, _ibs_cert_pair: _CertPair) -> EngineRig:
    """A Controller on a scratch store, backing up two small roles (CA, ECE) to a local folder."""
    import datetime as dt

    from ibs.engine.clock import ManualClock
    from ibs.engine.controller import Controller
    from ibs.engine.store import Store

    root = tmp_path_factory.mktemp("ibs-engine")
    share_dir = root / "share"
    share_dir.mkdir()
    sources = {"CA": root / "src" / "CA", "ECE": root / "src" / "ECE"}
    files = {
        "CA": {"ca.db": b"certificate authority\n" * 200, "issued/0001.cer": b"\x30\x82" * 300},
        "ECE": {"cfg/ece.json": b'{"stamp": "ibs", "nodes": 4}\n', "state.bin": bytes(range(256)) * 40},
    }
    for role, tree in files.items():
        for rel, data in tree.items():
            path = sources[role] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    clock = ManualClock(dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.timezone.utc))
    store_dir = root / "store"
    controller = Controller(Store(str(store_dir), durable=False), clock, chunk_size=4096)
    controller.configure(path=str(share_dir), cert=_ibs_cert_pair.cer,
                         sources={k: str(v) for k, v in sources.items()})
    return EngineRig(controller, clock, store_dir, share_dir, _ibs_cert_pair.cer,
                     _ibs_cert_pair.pfx, _ibs_cert_pair.password, sources)
