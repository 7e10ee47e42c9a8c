"""One SMB 3 connection, session and tree on smbprotocol, with every request time-bounded.

smbprotocol waits for responses on a ``threading.Event`` with no timeout (only NEGOTIATE and
LOGOFF take one), and writes with a blocking ``socket.send``: a stalled peer can hold a caller
for the worker's 600 s idle timer plus an echo round, about 20 minutes. We do not patch it.
Instead a watchdog thread bounds each call: when a deadline passes it shuts the socket down,
which makes a blocked ``send`` fail, ends the worker's ``select``, and the worker's ``finally``
then wakes every waiting ``receive``. The connection is dead after that, as after any timeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from smbprotocol.connection import Connection, Dialects
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.engine.errors import ConnectivityError, PathFaultError, ShareError
from ibs.engine.share.smb_errors import status_of, translate
from ibs.engine.share.unc import UncPath

_BAD_NETWORK_NAME = 0xC00000CC  # STATUS_BAD_NETWORK_NAME ([MS-ERREF] 2.3.1)

DIALECT_NAMES = {
    Dialects.SMB_2_0_2: "SMB 2.0.2",
    Dialects.SMB_2_1_0: "SMB 2.1",
    Dialects.SMB_3_0_0: "SMB 3.0",
    Dialects.SMB_3_0_2: "SMB 3.0.2",
    Dialects.SMB_3_1_1: "SMB 3.1.1",
}


def dialect_name(dialect: int | None) -> str:
    if dialect is None:
        return "no dialect"
    return DIALECT_NAMES.get(dialect, f"dialect 0x{dialect:04X}")


class _Watchdog:
    """One daemon thread that calls ``on_expire`` when the armed deadline passes."""

    def __init__(self, on_expire) -> None:
        self._on_expire = on_expire
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stopped = False
        self.fired = False
        self._thread = threading.Thread(target=self._run, name="smb-watchdog", daemon=True)
        self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                self.fired = True
                self._on_expire()


CREDIT_UNIT = 65536  # [MS-SMB2] 3.1.5.2: one credit per 64 KiB of payload


def credit_shortfall(conn: Connection, nbytes: int) -> int:
    """How many more credits a request carrying ``nbytes`` needs than the client holds."""
    need = max(1, -(-nbytes // CREDIT_UNIT)) if conn.supports_multi_credit else 1
    with conn.sequence_lock:
        have = conn.sequence_window["high"] - conn.sequence_window["low"]
    return max(0, need - have)


@dataclass(frozen=True)
class SmbTarget:
    """Where and how to connect: what an SmbShare is given, and all its wire needs.

    ``unc`` and ``port`` are the share as the user configured it, and the only place messages
    take a location from. ``endpoint`` (address, port), when set, is where the socket goes
    instead: a relay or proxy in front of the server (the simulator's fault proxy), whose
    address means nothing to the reader of an alert.
    """

    unc: UncPath
    username: str | None
    password: str | None = field(repr=False)  # never in a message or a log line
    port: int = 445
    connect_timeout: float = 10.0
    request_timeout: float = 30.0
    require_encryption: bool = False
    endpoint: tuple[str, int] | None = None


class SmbLink:
    """Connect, authenticate and tree-connect; then ``call()`` bounds each operation."""

    def __init__(self, target: SmbTarget) -> None:
        self.target = target
        self.unc = target.unc
        self.where = str(target.unc)
        self.connection: Connection | None = None
        self.session: Session | None = None
        self.tree: TreeConnect | None = None
        self.encrypted = False
        self.dead: str | None = None  # why the connection cannot be used any more
        self._lock = threading.RLock()  # smbprotocol objects are shared; one caller at a time
        self._dog = _Watchdog(self._kill_socket)

    def live_session(self) -> Session:
        """The authenticated session; ``ConnectivityError`` once the link is closed or lost."""
        if self.session is None:
            why = self.dead or "not connected"
            raise ConnectivityError(f"{self.where}: no SMB session ({why}); reconnect the share")
        return self.session

    def live_tree(self) -> TreeConnect:
        """The connected tree; ``ConnectivityError`` once the link is closed or lost."""
        if self.tree is None:
            why = self.dead or "not connected"
            raise ConnectivityError(f"{self.where}: no tree connection ({why}); reconnect the share")
        return self.tree

    # -- bounding -----------------------------------------------------------------------------

    def _kill_socket(self) -> None:
        # Called from the watchdog. Tcp.close() would wait for the lock a blocked send holds,
        # so shut the raw socket down directly; smbprotocol's own close follows in teardown().
        conn = self.connection
        sock = getattr(getattr(conn, "transport", None), "_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @contextlib.contextmanager
    def call(self, what: str, timeout: float | None = None,
             shown: float | None = None) -> Iterator[None]:
        """Run the body under a deadline; translate failures to ``ShareError``.

        ``shown`` is the timeout a message names when ``timeout`` is what is left of it: the
        reader set 10 s, not the 9.987 s that remained after name resolution.
        """
        limit = self.target.request_timeout if timeout is None else timeout
        shown = limit if shown is None else shown
        with self._lock:
            if self.dead is not None:
                raise ConnectivityError(f"{self.where}: connection unusable ({self.dead}) while {what}")
            self._dog.fired = False
            self._dog.arm(limit)
            try:
                yield
            except ShareError:
                raise
            except Exception as exc:  # noqa: BLE001 - every smbprotocol failure is translated
                self._dog.disarm()
                # smbprotocol's own receive timeout (NEGOTIATE, ECHO) says the same as ours.
                fired = self._dog.fired or "Connection timeout of" in str(exc)
                if fired:
                    self.dead = f"no answer within {shown:.3g} s"
                    self._teardown()
                    raise ConnectivityError(
                        f"{self.where}: server did not answer within {shown:.3g} s while {what}"
                    ) from None
                err = translate(exc, what, self.where)
                err.smb_status = status_of(exc)
                if isinstance(err, ConnectivityError):
                    self.dead = "connection lost"
                    self._teardown()
                raise err from None
            finally:
                self._dog.disarm()

    # -- lifecycle ----------------------------------------------------------------------------

    def _resolve(self) -> str:
        """Resolve the host within connect_timeout: getaddrinfo itself has no timeout."""
        # (family, type, proto, canonical name, socket address) per address, or why none
        result: list[Sequence[tuple[socket.AddressFamily, socket.SocketKind, int, str,
                                    tuple[Any, ...]]] | OSError] = []

        def lookup() -> None:
            try:
                result.append(socket.getaddrinfo(self.unc.host, self.target.port, type=socket.SOCK_STREAM))
            except OSError as exc:
                result.append(exc)

        worker = threading.Thread(target=lookup, name="smb-resolve", daemon=True)
        worker.start()
        worker.join(self.target.connect_timeout)
        if not result:
            raise ConnectivityError(
                f"{self.where}: host name lookup took longer than {self.target.connect_timeout:g} s"
            )
        found = result[0]
        if isinstance(found, OSError):
            raise ConnectivityError(f"{self.where}: host name {self.unc.host} does not resolve")
        address = found[0][4][0]  # the first socket address's host
        if not isinstance(address, str):  # not an IP socket address: nothing SMB can dial
            raise ConnectivityError(f"{self.where}: host name {self.unc.host} has no IP address")
        return address

    def connect(self) -> None:
        started = time.monotonic()
        try:
            address, port = self.target.endpoint or (self._resolve(), self.target.port)
            left = max(0.1, self.target.connect_timeout - (time.monotonic() - started))
            conn = Connection(uuid.uuid4(), address, port, require_signing=True)
            self.connection = conn
            # The configured port, not the endpoint's: the operator opens 445 in a firewall.
            with self.call(f"connecting to port {self.target.port}", left,
                           shown=self.target.connect_timeout):
                # smbprotocol truncates its NEGOTIATE wait to whole seconds (int(t - elapsed)), so
                # give it the extra fraction and let the watchdog enforce ``left`` exactly. The TCP
                # connect itself uses this value too and cannot be cut short: at most +1 s.
                conn.connect(timeout=left + 0.999)
            # smbprotocol accepts whatever the server picks, down to SMB 2.0.2 ([MS-SMB2] 3.2.5.2).
            if conn.dialect is None or conn.dialect < Dialects.SMB_3_0_0:
                raise ConnectivityError(
                    f"{self.where}: server offered {dialect_name(conn.dialect)}, "
                    "but SMB 3.0 or later is required"
                )
            offers_encryption = bool(conn.supports_encryption)
            if self.target.require_encryption and not offers_encryption:
                raise ConnectivityError(
                    f"{self.where}: server does not offer SMB encryption, which is required"
                )
            # require_encryption=True makes smbprotocol encrypt every request of the session
            # ([MS-SMB2] 3.2.4.1.8); leave it off when the server cannot decrypt.
            session = Session(conn, self.target.username, self.target.password, require_encryption=offers_encryption,
                              hostname_override=self.unc.host)
            with self.call("logging on"):
                session.connect()
            self.session = session
            tree = TreeConnect(session, self.unc.tree)
            try:
                with self.call(f"connecting to share {self.unc.share}"):
                    tree.connect()
            except PathFaultError as exc:
                if exc.smb_status != _BAD_NETWORK_NAME:
                    raise
                # Name the share and the server: "share does not exist while connecting to share
                # X" says it twice and leaves out where it was looked for.
                err = PathFaultError(
                    f"{self.where}: share {self.unc.share} does not exist on {self.unc.host}")
                err.smb_status = _BAD_NETWORK_NAME
                raise err from None
            self.tree = tree
            self.encrypted = bool(session.encrypt_data or tree.encrypt_data)
        except BaseException:
            self.close()
            raise

    def _teardown(self) -> None:
        conn = self.connection
        if conn is None or conn.transport is None:
            return
        self._kill_socket()
        with contextlib.suppress(Exception):
            conn.disconnect(close=False)

    def close(self) -> None:
        """Log off politely when the link is healthy (bounded), then drop the socket."""
        with self._lock:
            conn = self.connection
            if conn is not None and conn.transport is not None and self.dead is None:
                with contextlib.suppress(ShareError), \
                        self.call("disconnecting", min(self.target.request_timeout, 5.0)):
                        # Closes the session's opens, then its trees, then LOGOFF.
                        if self.session is not None:
                            self.session.disconnect(close=True, timeout=5)
            self.dead = self.dead or "closed"
            self._teardown()
            self.connection = self.session = self.tree = None
            self._dog.stop()
