"""The conformance harness: the same smbtorture tests against Samba and fake_smb, side by side.

Both servers listen on 127.0.0.1 with one share and one user. Each test runs alone (one
smbtorture invocation), bounded in time, on an empty share: the share folders are emptied
before every test, and fake_smb is started afresh for every test so that nothing a hung test
left open carries over. Samba forks a process per connection and keeps running.

A *gap* is a test Samba passes and fake_smb does not (it fails, errors, skips or times out).
The allowlist (``conformance_allowlist.toml``) names the gaps that are known, each with its
reason; a gap it does not name is *unexpected*, and makes the command fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ibs.fake_smb.samba import SambaServer
from ibs.fake_smb.server import FakeSmbServer
from ibs.fake_smb.torture import Outcome, TortureError, find_smbtorture, list_tests, run_test

ALLOWLIST = Path(__file__).with_name("conformance_allowlist.toml")
SERVERS = ("samba", "fake_smb")
USER = "torture"
SHARE = "backup"


@dataclass(frozen=True, kw_only=True)
class Row:
    test: str
    suite: str
    samba: Outcome
    fake_smb: Outcome
    reason: str | None = None  # the allowlist's reason, when it names this test

    @property
    def gap(self) -> bool:
        return self.samba.status == "pass" and self.fake_smb.status != "pass"

    @property
    def allowlisted(self) -> bool:
        return self.gap and self.reason is not None

    @property
    def unexpected(self) -> bool:
        return self.gap and self.reason is None


@dataclass(kw_only=True)
class Result:
    rows: list[Row] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)
    timeout: float = 60.0
    allowlist: dict[str, str] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        rows = self.rows
        return {
            "tests": len(rows),
            "samba_passes": sum(r.samba.status == "pass" for r in rows),
            "fake_smb_passes": sum(r.fake_smb.status == "pass" for r in rows),
            "fake_smb_fails_where_samba_passes": sum(r.gap for r in rows),
            "allowlisted": sum(r.allowlisted for r in rows),
            "not_allowlisted": sum(r.unexpected for r in rows),
            "fake_smb_passes_where_samba_does_not": sum(
                r.fake_smb.status == "pass" and r.samba.status != "pass" for r in rows),
        }

    @property
    def unexpected(self) -> list[str]:
        return [r.test for r in self.rows if r.unexpected]

    @property
    def stale(self) -> list[str]:
        """Allowlisted tests that ran and are no longer gaps (fake_smb passes, or Samba fails)."""
        return [r.test for r in self.rows if r.reason is not None and not r.gap]

    @property
    def exit_code(self) -> int:
        return 1 if self.unexpected else 0


# -- the allowlist -----------------------------------------------------------------------------

def load_allowlist(path: str | os.PathLike[str] = ALLOWLIST) -> dict[str, str]:
    """``{test: reason}`` from a TOML file of one table per suite: ``["smb2.lock"]`` then
    ``"smb2.lock.cancel" = "reason"``. Raises TortureError naming what is wrong."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise TortureError(f"cannot read the allowlist {os.fspath(path)!r}: "
                           f"{exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TortureError(f"the allowlist {os.fspath(path)!r} is not valid TOML: {exc}") from None
    found: dict[str, str] = {}
    for suite, table in data.items():
        if not isinstance(table, dict):
            raise TortureError(f"allowlist: {suite!r} must be a table of tests, e.g. "
                               f'["smb2.lock"] then "smb2.lock.cancel" = "reason"')
        for test, reason in table.items():
            if test != suite and not test.startswith(suite + "."):
                raise TortureError(f"allowlist: {test!r} is listed under [{suite!r}] "
                                   "but is not one of its tests")
            if not isinstance(reason, str) or not reason.strip():
                raise TortureError(f"allowlist: {test!r} needs a reason (a non-empty string)")
            found[test] = reason.strip()
    return found


# -- choosing tests ----------------------------------------------------------------------------

def select_tests(suites: list[str], tests: list[str],
                 smbtorture: str | None = None) -> list[tuple[str, str]]:
    """``[(suite, test)]`` for every test of ``suites`` plus each named test, in order, once.

    A named test's suite is the first given suite it lies under, else its first two names
    (smb2.lock.rw-none -> smb2.lock; smb2.connect -> smb2.connect).
    """
    exe = smbtorture or find_smbtorture()
    chosen: dict[str, str] = {}
    for suite in suites:
        for test in list_tests(suite, exe):
            chosen.setdefault(test, suite)
    for name in tests:
        for test in list_tests(name, exe):
            owner = next((s for s in suites if test.startswith(s + ".")),
                         ".".join(test.split(".")[:2]))
            chosen.setdefault(test, owner)
    return [(suite, test) for test, suite in chosen.items()]


# -- servers -----------------------------------------------------------------------------------

def empty_dir(path: Path) -> None:
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@dataclass
class _Servers:
    root: Path
    password: str
    samba: SambaServer

    def share(self, server: str) -> Path:
        return self.root / server

    @contextmanager
    def fake_smb(self) -> Iterator[FakeSmbServer]:
        srv = FakeSmbServer(self.share("fake_smb"), share_name=SHARE,
                            users={USER: self.password}).start()
        try:
            yield srv
        finally:
            srv.stop()


@contextmanager
def servers() -> Iterator[_Servers]:
    """Samba (SMB 2.0.2-3.1.1 like fake_smb's default window, encryption desired) and the
    folders both share. Raises TortureError when Samba cannot run here."""
    if not SambaServer.available():
        raise TortureError("the Samba reference needs smbd, smbpasswd and libnss-wrapper "
                           "(Debian packages samba, libnss-wrapper), run as root")
    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="ibs-conformance-") as tmp:
        root = Path(tmp)
        for name in SERVERS:
            (root / name).mkdir()
        samba = SambaServer(root / "samba", users={USER: password}, share_name=SHARE,
                            min_protocol="SMB2_02", max_protocol="SMB3_11")
        samba.start()
        try:
            yield _Servers(root, password, samba)
        finally:
            samba.stop()


# -- running -----------------------------------------------------------------------------------

OnStart = Callable[[int, str, str], None]  # (index, test, server)
OnRow = Callable[[int, Row], None]


def run(chosen: list[tuple[str, str]], *, timeout: float = 60.0,
        allowlist: dict[str, str] | None = None, log_dir: Path | None = None,
        on_start: OnStart | None = None, on_row: OnRow | None = None,
        smbtorture: str | None = None) -> Result:
    """Run every chosen test against Samba, then fake_smb; each alone, on an empty share.

    ``log_dir`` receives each run's smbtorture output as ``<server>/<test>.txt``.
    """
    exe = smbtorture or find_smbtorture()
    allowlist = dict(allowlist or {})
    result = Result(suites=sorted({s for s, _ in chosen}, key=[s for s, _ in chosen].index),
                    timeout=timeout, allowlist=allowlist)
    with servers() as env, tempfile.TemporaryDirectory(prefix="ibs-torture-cwd-") as cwd:
        for index, (suite, test) in enumerate(chosen):
            outcomes: dict[str, Outcome] = {}
            for server in SERVERS:
                if on_start:
                    on_start(index, test, server)
                empty_dir(env.share(server))
                if server == "samba":
                    outcome, text = run_test(test, port=env.samba.port, user=USER,
                                             password=env.password, share_name=SHARE,
                                             timeout=timeout, cwd=cwd, smbtorture=exe)
                else:
                    with env.fake_smb() as fake:
                        outcome, text = run_test(test, port=fake.port, user=USER,
                                                 password=env.password, share_name=SHARE,
                                                 timeout=timeout, cwd=cwd, smbtorture=exe)
                outcomes[server] = outcome
                if log_dir is not None:
                    path = log_dir / server / f"{test}.txt"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text.replace(env.password, "********"), encoding="utf-8")
            row = Row(test=test, suite=suite, samba=outcomes["samba"],
                      fake_smb=outcomes["fake_smb"], reason=allowlist.get(test))
            result.rows.append(row)
            if on_row:
                on_row(index, row)
    return result
