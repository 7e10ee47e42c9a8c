"""The ``wire`` fidelity: the simulated share is a real fake_smb server behind the port-445 proxy.

Every backup crosses TCP on 127.0.0.1 through smbprotocol, SMB 3 encryption and the fault
proxy. The world's state (users, encryption, dialect, capacity, firewall verdict for the
active ERCS VM) is mirrored onto the server and the proxy whenever it changes. Name
resolution stays a model: the PEP's answer decides whether the client is pointed at the proxy.
Virtual time is unaffected by how long the real transfer takes, so runs stay deterministic.
"""

from __future__ import annotations

import os
import shutil
import time
import weakref

from ibs.engine.errors import ConnectivityError, ShareError
from ibs.engine.share.smb import SmbShare
from ibs.engine.share.unc import UncPath
from ibs.fake_smb import FakeSmbServer
from ibs.fake_smb.proxy import FaultProxy
from ibs.simulator.config import SHARE_FOLDER, SHARE_NAME
from ibs.simulator.gate import port_verdict, resolves
from ibs.simulator.memshare import ALLOCATION_UNIT

_FILLER = ".filler"
RESET_WAIT_SECONDS = 5.0  # a proxy thread resets its connection within milliseconds  # other data on the file server, for "share filled"


class WireWorld:
    def __init__(self, hub) -> None:
        self.hub = hub
        self.root = os.path.join(hub.workdir, "smb-share")
        os.makedirs(os.path.join(self.root, SHARE_FOLDER), exist_ok=True)
        self._users = set(hub.server.users)
        self._shares: weakref.WeakSet[SmbShare] = weakref.WeakSet()  # the controllers' connections
        self.server = FakeSmbServer(self.root, share_name=SHARE_NAME, users=dict(hub.server.users),
                                    encryption=hub.server.encryption,
                                    allocation_unit=ALLOCATION_UNIT)
        self.server.start()
        self.proxy = FaultProxy("127.0.0.1", self.server.port)
        self.proxy.start()
        self._verdict: str | None = None  # what the proxy does to port 445 now
        self.sync()

    def share(self, unc: UncPath, username: str | None, password: str | None) -> SmbShare:
        self.sync()
        if not resolves(self.hub, unc.host):
            raise ConnectivityError(f"host name {unc.host} does not resolve from the privileged endpoint")
        timeout = self.hub.ctl.settings.smb_timeout
        # The PEP's model resolved the name; the bytes go to the proxy in front of fake_smb,
        # while messages name the configured port, as at sim fidelity.
        share = SmbShare(str(unc), username, password, port=self.hub.ctl.settings.smb_port,
                         endpoint=("127.0.0.1", self.proxy.port),
                         connect_timeout=timeout, request_timeout=timeout)
        self._shares.add(share)
        return share

    def sync(self) -> None:
        """Mirror the world's state onto the real server and the proxy.

        The world changes at a virtual instant after the requests already sent, which in virtual
        time have arrived: they are answered first. Else a firewall rule or a full share would
        race a WRITE still in flight, and thread timing (a slow moment of the machine) would
        decide what the share holds."""
        hub = self.hub
        if self._verdict == "allow":  # a dropped or refused port answers nothing to wait for
            self._settle()
        model = hub.server
        for user in self._users - set(model.users):
            self.server.remove_user(user)
        for user, password in model.users.items():
            self.server.set_user(user, password)
        self._users = set(model.users)
        self.server.encryption = model.encryption
        self.server.max_dialect = model.max_dialect
        self.server.quota_bytes = hub.storage.capacity
        filler = os.path.join(self.root, _FILLER)
        with open(filler, "ab") as f:
            f.truncate(hub.storage.filler)
        before, verdict = self._verdict, port_verdict(hub)
        self._verdict = verdict
        if verdict == "reject":
            self.proxy.reject()
            if before != "reject":
                self._await_resets()
        elif verdict == "drop":
            self.proxy.blackhole()
        else:
            self.proxy.allow()

    def _await_resets(self) -> None:
        """Wait until the proxy has reset every open connection. Its threads do that after
        ``reject()`` returns: the engine's next request would otherwise meet a live socket or a
        reset one by thread timing, and fail at one step or the next."""
        deadline = time.monotonic() + RESET_WAIT_SECONDS
        while self.proxy.connections and time.monotonic() < deadline:
            time.sleep(0.001)

    def _settle(self) -> None:
        """Let the server answer every request the client has sent, so it has written them.

        SmbWriter keeps a WRITE in flight from one step of a job to the next (smb_io._WINDOW).
        Measured between two steps, the share would hold that write or not by thread timing,
        and "share filled", the occupancy samples and the peak would change from run to run of
        the same seed. A blackholed proxy answers nothing: then the wait ends at the timeout.
        """
        timeout = self.hub.ctl.settings.smb_timeout
        for share in list(self._shares):
            try:
                conn = share.link.connection
            except ShareError:  # not connected
                continue
            if conn is None:
                continue
            for request in list(conn.outstanding_requests.values()):
                request.response_event.wait(timeout)

    def used_bytes(self) -> int:
        self._settle()
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if dirpath == self.root and name == _FILLER:
                    continue
                total += os.path.getsize(os.path.join(dirpath, name))
        return total

    def flip_bit(self, path: str, offset: int) -> None:
        full = os.path.join(self.root, SHARE_FOLDER, path)
        with open(full, "r+b") as f:
            data = bytearray(f.read())
            data[offset % len(data)] ^= 0x01
            f.seek(0)
            f.write(data)

    def close(self) -> None:
        self.proxy.stop()
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)
