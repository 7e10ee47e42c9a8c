"""A real Samba ``smbd`` on 127.0.0.1 for tests: the peer fake_smb is held against.

Everything lives under one temporary folder: a private smb.conf, the passdb, lock/state/cache
directories and the log. Nothing is read from or written to /etc/samba or /var/lib/samba.

Samba authenticates a passdb user only if a Unix account of that name exists. Rather than
adding accounts to the machine, smbd and smbpasswd run under nss_wrapper (Debian package
``libnss-wrapper``): ``LD_PRELOAD`` plus private passwd/group files that name the test users.
Files in the share are owned by root (``force user = root``), so the test users need no
Unix permissions on ``share_dir``.

Only loopback is used: ``interfaces = 127.0.0.1`` with ``bind interfaces only``, no NetBIOS,
no printing, no nmbd or winbind. ``stop()`` kills smbd's process group by PID and waits.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal, Self

Encryption = Literal["desired", "required", "off", "if_required"]

_SMBD = "/usr/sbin/smbd"
_NSS_WRAPPER_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/libnss_wrapper.so",
    "/usr/lib64/libnss_wrapper.so",
)
_FIRST_UID = 20001


def _which(name: str, fallback: str) -> str | None:
    found = shutil.which(name) or (fallback if os.path.exists(fallback) else None)
    return found


def _nss_wrapper() -> str | None:
    return next((p for p in _NSS_WRAPPER_CANDIDATES if os.path.exists(p)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SambaError(RuntimeError):
    """smbd could not be configured or started."""


class SambaServer:
    """``with SambaServer(share_dir) as srv:`` then connect to ``\\\\127.0.0.1\\backup`` on ``srv.port``."""

    def __init__(
        self,
        share_dir: str | os.PathLike[str],
        users: dict[str, str] | None = None,
        share_name: str = "backup",
        encryption: Encryption = "desired",
        min_protocol: str = "SMB3_00",
        max_protocol: str = "SMB3_11",
        port: int = 0,
        extra_global: dict[str, str] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.share_dir = os.path.abspath(os.fspath(share_dir))
        self.users = dict(users if users is not None else {"alice": "pw"})
        self.share_name = share_name
        self.encryption = encryption
        self.min_protocol = min_protocol
        self.max_protocol = max_protocol
        self.port = port
        self.extra_global = dict(extra_global or {})
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.root: Path | None = None

    # -- availability -----------------------------------------------------------------------

    @staticmethod
    def available() -> bool:
        """True when smbd, smbpasswd and nss_wrapper are installed and we are root."""
        return (
            hasattr(os, "geteuid")
            and os.geteuid() == 0
            and _which("smbd", _SMBD) is not None
            and _which("smbpasswd", "/usr/bin/smbpasswd") is not None
            and _nss_wrapper() is not None
        )

    @property
    def unc(self) -> str:
        return f"\\\\{self.host}\\{self.share_name}"

    # -- configuration ----------------------------------------------------------------------

    def _conf_text(self) -> str:
        assert self.root is not None
        r = self.root
        glob = {
            "server role": "standalone server",
            "workgroup": "WORKGROUP",
            "netbios name": "IBSTEST",
            "interfaces": "127.0.0.1",
            "bind interfaces only": "yes",
            "smb ports": str(self.port),
            "disable netbios": "yes",
            "load printers": "no",
            "printing": "bsd",
            "printcap name": "/dev/null",
            "disable spoolss": "yes",
            "server min protocol": self.min_protocol,
            "server max protocol": self.max_protocol,
            # Samba 4.17 spells it "server smb encrypt"; "smb encrypt" is the old synonym.
            "server smb encrypt": self.encryption,
            "passdb backend": f"tdbsam:{r}/private/passdb.tdb",
            "private dir": f"{r}/private",
            "lock directory": f"{r}/lock",
            "state directory": f"{r}/state",
            "cache directory": f"{r}/cache",
            "pid directory": f"{r}/pid",
            "ncalrpc dir": f"{r}/ncalrpc",
            "binddns dir": f"{r}/binddns",
            "usershare path": "",
            "log file": f"{r}/log.smbd",
            "log level": "1",
            "map to guest": "Never",
            "restrict anonymous": "2",
            "dns proxy": "no",
            "wins support": "no",
            "kernel oplocks": "no",
            "obey pam restrictions": "no",
            "unix password sync": "no",
        }
        glob.update(self.extra_global)
        lines = ["[global]"] + [f"    {k} = {v}" for k, v in glob.items()]
        lines += [
            f"[{self.share_name}]",
            f"    path = {self.share_dir}",
            "    read only = no",
            "    browseable = yes",
            "    guest ok = no",
            f"    valid users = {' '.join(self.users)}",
            "    force user = root",
            "    force group = root",
            "    create mask = 0644",
            "    directory mask = 0755",
        ]
        return "\n".join(lines) + "\n"

    def _env(self) -> dict[str, str]:
        assert self.root is not None
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=_nss_wrapper() or "",
            NSS_WRAPPER_PASSWD=str(self.root / "passwd"),
            NSS_WRAPPER_GROUP=str(self.root / "group"),
        )
        return env

    def _write_files(self) -> None:
        assert self.root is not None
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "binddns"):
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        # smbd refuses to start without its guest account ("nobody") even with guests off.
        passwd = ["root:x:0:0:root:/root:/bin/false", "nobody:x:65534:65534:nobody:/:/bin/false"]
        group = ["root:x:0:", "nogroup:x:65534:", f"ibsusers:x:{_FIRST_UID}:"]
        for i, user in enumerate(self.users):
            passwd.append(f"{user}:x:{_FIRST_UID + i}:{_FIRST_UID}:{user}:/nonexistent:/bin/false")
        (self.root / "passwd").write_text("\n".join(passwd) + "\n")
        (self.root / "group").write_text("\n".join(group) + "\n")
        self.conf.write_text(self._conf_text())

    @property
    def conf(self) -> Path:
        assert self.root is not None
        return self.root / "smb.conf"

    def set_password(self, user: str, password: str) -> None:
        """Add ``user`` to the passdb or change its password (works while smbd runs)."""
        if self.root is None:
            raise SambaError("SambaServer is not started")
        if user not in self.users:
            raise SambaError(f"unknown user {user!r}: users are fixed when the server starts")
        smbpasswd = _which("smbpasswd", "/usr/bin/smbpasswd")
        proc = subprocess.run(
            [smbpasswd or "smbpasswd", "-c", str(self.conf), "-a", "-s", user],
            input=f"{password}\n{password}\n".encode(),
            env=self._env(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0:
            raise SambaError(f"smbpasswd failed for {user}: {proc.stderr.decode(errors='replace').strip()}")
        self.users[user] = password

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> SambaServer:
        if self._proc is not None:
            return self
        if not self.available():
            raise SambaError("smbd, smbpasswd or nss_wrapper missing, or not running as root")
        if self.port == 0:
            self.port = _free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="ibs-samba-")
        self.root = Path(self._tmp.name)
        self._write_files()
        for user, password in self.users.items():
            self.set_password(user, password)
        log = open(self.root / "smbd.stdout", "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._proc = subprocess.Popen(
            [
                _which("smbd", _SMBD) or _SMBD,
                "--foreground",
                "--no-process-group",
                "--debug-stdout",
                "-s",
                str(self.conf),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            # Our own process group, so stop() can take smbd's forked children with it.
            start_new_session=True,
        )
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise SambaError(f"smbd exited with {self._proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        raise SambaError(f"smbd did not listen on {self.host}:{self.port}: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        if self.root is None:
            return ""
        text = ""
        for name in ("smbd.stdout", "log.smbd"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
            # The children forked per client connection share the group; make sure none linger.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
