"""impacket's SMBSERVER, subclassed and hooked for fake_smb.

Built directly rather than through SimpleSMBServer, whose two DCE/RPC helper
listeners (srvsvc, wkssvc) outlive stop(); the share is served without them.
"""

from __future__ import annotations

import configparser
import logging
import os
import socket
import threading

from impacket import ntlm
from impacket import smb3structs as smb2
from impacket.smbserver import SMBSERVER

from ibs.fake_smb import (
    channels,
    file_io,
    flush,
    fsctl,
    negotiate,
    open_close,
    oplock_wire,
    query_directory,
    query_info,
    release,
    session_end,
    session_setup,
    sessions,
    set_info,
    tree_connect,
)
from ibs.fake_smb.connection import SmbConnectionHandler
from ibs.fake_smb.lock_handler import cancel_handler, lock_handler
from ibs.fake_smb.locks import LockTable
from ibs.fake_smb.oplocks import OplockTable
from ibs.fake_smb.share_modes import OpenTable

# impacket logs every request at INFO; keep a test run readable.
logging.getLogger("impacket").setLevel(logging.WARNING)


def _config(share_name: str, share_dir: str) -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.add_section("global")
    for key, value in {
        "server_name": "FAKESMB",
        "server_os": "fake_smb",
        "server_domain": "WORKGROUP",
        "log_file": "None",
        "credentials_file": "",
        "challenge": os.urandom(8).hex(),
        "SMB2Support": "True",
        # Our SESSION_SETUP wrapper decides about anonymous logons.
        "anonymous_logon": "True",
    }.items():
        cfg.set("global", key, value)
    # impacket finds shares by upper-cased section name.
    cfg.add_section("IPC$")
    for key, value in {"comment": "", "read only": "yes", "share type": "3", "path": ""}.items():
        cfg.set("IPC$", key, value)
    section = share_name.upper()
    cfg.add_section(section)
    for key, value in {"comment": "", "read only": "no", "share type": "0", "path": share_dir}.items():
        cfg.set(section, key, value)
    return cfg


class FakeSmbCore(SMBSERVER):
    """SMBSERVER with our connection loop and our SMB2 command handlers."""

    daemon_threads = False
    block_on_close = True  # server_close() joins every connection thread

    def __init__(self, address: tuple[str, int], fake_config, share_name: str, share_dir: str) -> None:
        self.fake_config = fake_config
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        #: Every open of every connection, for share modes (share_modes.py).
        self.open_table = OpenTable()
        #: Every open's oplock, under the same lock (oplocks.py).
        self.oplock_table = OplockTable(self.open_table.lock)
        #: Every live session, for the checks a session bind gets (sessions.py).
        self.session_table = sessions.SessionTable()
        #: Every channel bound to a session on a further connection (channels.py).
        self.channel_table = channels.ChannelTable()
        #: Every byte-range lock and waiting lock request of the server (locks.py).
        self.lock_table = LockTable()
        super().__init__(address, handler_class=SmbConnectionHandler, config_parser=_config(share_name, share_dir))
        self.processConfigFile()
        self.setAuthCallback(None)
        self._hook()

    def _hook(self) -> None:
        replaced = {
            smb2.SMB2_NEGOTIATE: negotiate.negotiate_handler,
            smb2.SMB2_CREATE: open_close.create_handler,
            smb2.SMB2_CLOSE: open_close.close_handler,
            smb2.SMB2_WRITE: file_io.write_handler,
            smb2.SMB2_READ: file_io.read_handler,
            smb2.SMB2_FLUSH: flush.flush_handler,
            smb2.SMB2_LOCK: lock_handler,
            smb2.SMB2_CANCEL: cancel_handler,
            smb2.SMB2_QUERY_DIRECTORY: query_directory.query_directory_handler,
            smb2.SMB2_OPLOCK_BREAK: oplock_wire.oplock_break_handler,
        }
        for command, handler in replaced.items():
            self.hookSmb2Command(command, handler)
        # These wrap impacket's handler and fall back to it for what they do not fix.
        wrapped = {
            smb2.SMB2_SESSION_SETUP: session_setup.make_session_setup_handler,
            smb2.SMB2_SET_INFO: set_info.make_set_info_handler,
            smb2.SMB2_QUERY_INFO: query_info.make_query_info_handler,
            smb2.SMB2_TREE_CONNECT: tree_connect.make_tree_connect_handler,
            smb2.SMB2_TREE_DISCONNECT: release.make_tree_disconnect_handler,
            smb2.SMB2_LOGOFF: lambda original: session_end.make_logoff_handler(release.make_logoff_handler(original)),
            smb2.SMB2_IOCTL: fsctl.make_ioctl_handler,
        }
        for command, make in wrapped.items():
            original = self.hookSmb2Command(command, None)
            self.hookSmb2Command(command, make(original))
        self.getIoctls()[smb2.FSCTL_VALIDATE_NEGOTIATE_INFO] = negotiate.validate_negotiate_ioctl

    def processRequest(self, connId, data):
        # ECHO needs no session, and a request naming a session that is gone is
        # USER_SESSION_DELETED, where impacket answers both ACCESS_DENIED.
        answer = sessions.answer_without_session(self.getConnectionData(connId, checkStatus=False), data)
        if answer is not None:
            return [answer]
        return super().processRequest(connId, data)

    # -- credentials ----------------------------------------------------------
    def set_password(self, user: str, password: str) -> None:
        self.addCredential(user, 0, "", ntlm.compute_nthash(password).hex())

    def remove_user(self, user: str) -> None:
        self.getCredentials().pop(user.lower(), None)

    # -- sockets, so stop() can cut live connections ---------------------------
    def track_socket(self, sock: socket.socket) -> None:
        with self._sockets_lock:
            self._sockets.add(sock)

    def untrack_socket(self, sock: socket.socket) -> None:
        with self._sockets_lock:
            self._sockets.discard(sock)

    def cut_all(self) -> None:
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        pass  # a broken connection is routine here; the loop already logged it
