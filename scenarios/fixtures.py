"""The fixtures of the ``ibs`` pytest plugin (:mod:`ibs.scenarios.pytest_plugin` lists them):
SMB servers on 127.0.0.1, simulated hubs and an engine on a scratch store.

Only the standard library and pytest are imported here at start-up; the engine, fake_smb,
Samba's launcher and the simulator are imported when a fixture first needs them.
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
    from ibs.simulator.hub import Hub

SHARE_NAME = "backup"
SHARE_FOLDER = "ibs"
SMB_USER = "ibs-user"
SAMBA_ENV = "IBS_REQUIRE_SAMBA"


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
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
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
    def key(self):
        """The decryption key from the PFX, for verify and restore."""
        from ibs.engine.certs import load_pfx

        return load_pfx(self.pfx, self.pfx_password)

    def backup(self, trigger: str = "OnDemand"):
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
    clock = ManualClock(dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC))
    store_dir = root / "store"
    controller = Controller(Store(str(store_dir), durable=False), clock, chunk_size=4096)
    controller.configure(path=str(share_dir), cert=_ibs_cert_pair.cer,
                         sources={k: str(v) for k, v in sources.items()})
    return EngineRig(controller, clock, store_dir, share_dir, _ibs_cert_pair.cer,
                     _ibs_cert_pair.pfx, _ibs_cert_pair.password, sources)
