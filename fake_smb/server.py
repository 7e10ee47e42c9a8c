"""FakeSmbServer: an in-process SMB 2.0.2-3.1.1 server over one local directory.

    with FakeSmbServer(share_dir, users={"alice": "pw"}) as srv:
        ...connect to srv.host:srv.port, share srv.share_name...

Switches (dialect window, encryption, users, quota, faults) may be changed
while it runs; they apply to the next connection, session or request.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Self

from ibs.fake_smb.dialects import check_range, dialect_code
from ibs.fake_smb.faults import Faults
from ibs.fake_smb.smbserver_core import FakeSmbCore

ENCRYPTION_MODES = ("required", "desired", "off")
HOST = "127.0.0.1"  # never anything else: this server is for tests


class FakeSmbServer:
    host = HOST

    def __init__(
        self,
        share_dir: str | os.PathLike[str],
        share_name: str = "backup",
        users: dict[str, str] | None = None,
        port: int = 0,
        encryption: str = "desired",
        min_dialect: str = "2.0.2",
        max_dialect: str = "3.1.1",
        quota_bytes: int | None = None,
        allow_anonymous: bool = False,
        allocation_unit: int = 4096,
        oplock_break_timeout: float = 35.0,
    ) -> None:
        share_dir = os.fspath(share_dir)
        if not os.path.isdir(share_dir):
            raise ValueError(f"share directory {share_dir!r} does not exist or is not a directory")
        if not share_name or any(c in share_name for c in '\\/:*?"<>|') or share_name.upper() in ("IPC$", "GLOBAL"):
            raise ValueError(f"invalid share name {share_name!r}")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port {port} is out of range 0-65535")
        check_range(min_dialect, max_dialect)
        self.share_dir = os.path.abspath(share_dir)
        self.share_name = share_name
        self._requested_port = int(port)
        self._min_dialect = min_dialect
        self._max_dialect = max_dialect
        self.encryption = encryption
        self.quota_bytes = quota_bytes
        if not isinstance(allocation_unit, int) or allocation_unit < 1:
            raise ValueError(f"allocation unit must be a positive number of bytes, not {allocation_unit!r}")
        #: Bytes per allocation unit in volume size answers (MS-FSCC 2.5.4, 2.5.8): free space is
        #: reported in whole units. A scaled simulation uses 1 so that no rounding is multiplied.
        self.allocation_unit = allocation_unit
        self.allow_anonymous = allow_anonymous
        if not oplock_break_timeout > 0:
            raise ValueError(f"oplock break timeout must be a positive number of seconds, not {oplock_break_timeout!r}")
        #: Seconds an open waits for an oplock holder to acknowledge a break (Samba: 35).
        self.oplock_break_timeout = float(oplock_break_timeout)
        self.faults = Faults()
        self.server_guid = uuid.uuid4().bytes
        self.started_at = time.time()
        self.stopping = threading.Event()
        self._users: dict[str, str] = {}
        self._core: FakeSmbCore | None = None
        self._thread: threading.Thread | None = None
        for name, password in (users or {}).items():
            self.set_user(name, password)

    # -- switches ---------------------------------------------------------------
    @property
    def encryption(self) -> str:
        return self._encryption

    @encryption.setter
    def encryption(self, mode: str) -> None:
        if mode not in ENCRYPTION_MODES:
            raise ValueError(f"encryption must be one of {', '.join(ENCRYPTION_MODES)}, not {mode!r}")
        self._encryption = mode

    @property
    def min_dialect(self) -> str:
        return self._min_dialect

    @min_dialect.setter
    def min_dialect(self, value: str) -> None:
        check_range(value, self._max_dialect)
        self._min_dialect = value

    @property
    def max_dialect(self) -> str:
        return self._max_dialect

    @max_dialect.setter
    def max_dialect(self, value: str) -> None:
        check_range(self._min_dialect, value)
        self._max_dialect = value

    @property
    def quota_bytes(self) -> int | None:
        return self._quota_bytes

    @quota_bytes.setter
    def quota_bytes(self, value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"quota must be a non-negative number of bytes or None, not {value!r}")
        self._quota_bytes = value

    def dialect_window(self) -> tuple[int, int]:
        return dialect_code(self._min_dialect), dialect_code(self._max_dialect)

    def set_user(self, name: str, password: str) -> None:
        """Add a user or change a password; new logons see it at once."""
        if not name or ":" in name:
            raise ValueError(f"invalid user name {name!r}")
        self._users[name.lower()] = password
        if self._core is not None:
            self._core.set_password(name, password)

    def remove_user(self, name: str) -> None:
        self._users.pop(name.lower(), None)
        if self._core is not None:
            self._core.remove_user(name)

    # -- lifecycle ------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._core is None:
            return self._requested_port
        return self._core.server_address[1]

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> FakeSmbServer:
        if self._thread is not None:
            raise RuntimeError("server already started")
        self.stopping.clear()
        self._core = FakeSmbCore((HOST, self._requested_port), self, self.share_name, self.share_dir)
        for name, password in self._users.items():
            self._core.set_password(name, password)
        self._thread = threading.Thread(
            target=self._core.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake_smb:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: cut every client, close the listener, join all threads."""
        core, thread = self._core, self._thread
        if core is None or thread is None:
            return
        self.stopping.set()  # wakes delayed writes and stalled connections
        core.shutdown()  # ends serve_forever within one poll interval
        thread.join()
        core.cut_all()
        core.server_close()  # closes the listener, joins connection threads
        self._thread = None
        self._core = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def unc(self) -> str:
        return f"\\\\{HOST}\\{self.share_name}"
