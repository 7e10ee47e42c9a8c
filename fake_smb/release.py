"""Letting go of opens: on CLOSE, TREE_DISCONNECT, LOGOFF and the connection's end.

impacket keeps a connection's state in one dict (its connData): 'OpenedFiles'
(FileId -> open, each holding a descriptor), 'ConnectedShares' (TreeId ->
share) and 'Uid' (its one session).  Its TREE_DISCONNECT and LOGOFF forget
the tree or the session but not the opens under them, and removeConnection
drops the dict with every descriptor still open, so a client that never sends
CLOSE used to leave one descriptor (and an undone delete-on-close) behind per
open, until the process ran out.  This module is the one place an open is
closed, whichever of those ends it, and so the one place an open leaves the
server-wide table of share modes (share_modes.py) and gives back its byte-range
locks (locks.py).
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable

from ibs.fake_smb import delete_pending
from ibs.fake_smb.locks import OWNER_KEY
from ibs.fake_smb.oplocks import OPLOCK_KEY

Log = Callable[[str], None]


def close_open(entry: dict, log: Log) -> None:
    """Close one open's descriptor, then carry out its delete-on-close (MS-SMB2 3.3.5.10).
    Its share modes and byte-range locks go first: they bind other opens only while it
    is open, and a lock request of its still waiting fails (RANGE_NOT_LOCKED, as Samba)."""
    share_mode = entry.pop("ShareMode", None)
    if share_mode is not None:
        if entry["DeleteOnClose"] and delete_pending.pass_on(share_mode):
            entry["DeleteOnClose"] = False  # another open of the file deletes it when it closes
        share_mode.release()
    lock_owner = entry.pop(OWNER_KEY, None)
    if lock_owner is not None:
        lock_owner.release()
    if entry.get(OPLOCK_KEY) is not None:  # and its oplock, which lets an open waiting on it go on
        entry.pop(OPLOCK_KEY).release()
    fd = entry["FileHandle"]
    try:
        is_dir = stat_mod.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if not entry["DeleteOnClose"]:
        return
    path = entry["FileName"]
    try:
        if is_dir:
            os.rmdir(path)  # never a tree: only an empty directory goes
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log(f"delete on close of {path} failed: {exc}")


def release_opens(conn_data: dict, log: Log, tree_id: int | None = None) -> None:
    """Close the opens of one tree connect, or (tree_id None) all of a connection's."""
    opens = conn_data["OpenedFiles"]
    # Newest first, so a file opened delete-on-close inside a directory opened
    # delete-on-close goes before the directory does.
    fids = [fid for fid in reversed(list(opens)) if tree_id is None or opens[fid].get("TreeID") == tree_id]
    # Every lock of these opens goes before any of them closes: a lock request waiting on
    # one of them is granted, whatever the order of closing (smbtorture
    # smb2.lock.cancel-tdis expects it of Windows, and Samba passes it).
    for fid in fids:
        lock_owner = opens[fid].get(OWNER_KEY)
        if lock_owner is not None:
            lock_owner.release_locks()
    for fid in fids:
        entry = opens.pop(fid)
        try:
            close_open(entry, log)
        except OSError as exc:  # one bad descriptor must not keep the others open
            log(f"closing {entry['FileName']} failed: {exc}")


def release_connection(conn_data: dict, log: Log) -> None:
    """The connection is gone, however it ended (MS-SMB2 3.3.7.1): so are its opens and trees."""
    release_opens(conn_data, log)
    conn_data["ConnectedShares"].clear()


def make_tree_disconnect_handler(original):
    def tree_disconnect(connId, smbServer, recvPacket):
        # MS-SMB2 3.3.5.8: close every open made through this tree connect.
        conn_data = smbServer.getConnectionData(connId)
        if recvPacket["TreeID"] in conn_data["ConnectedShares"]:
            release_opens(conn_data, smbServer.log, recvPacket["TreeID"])
        return original(connId, smbServer, recvPacket)

    return tree_disconnect


def make_logoff_handler(original):
    def logoff(connId, smbServer, recvPacket):
        # MS-SMB2 3.3.5.6: close every open of the session and deregister its tree
        # connects.  impacket has one session per connection, so that is all of them.
        conn_data = smbServer.getConnectionData(connId)
        if recvPacket["SessionID"] == conn_data["Uid"]:
            release_connection(conn_data, smbServer.log)
        return original(connId, smbServer, recvPacket)

    return logoff
