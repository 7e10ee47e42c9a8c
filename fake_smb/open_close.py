"""SMB2 CREATE and CLOSE (MS-SMB2 3.3.5.9, 3.3.5.10) over a local directory.

Replaces impacket's handlers, which report the CreateDisposition as the
CreateAction (smbprotocol then misreads the result), answer a missing file
with STATUS_NO_SUCH_FILE instead of STATUS_OBJECT_NAME_NOT_FOUND, and delete a
non-empty directory tree on delete-on-close.  The open table stays impacket's
(connData['OpenedFiles']) so its QUERY_INFO handler keeps working on our
opens; QUERY_DIRECTORY keeps its cursor on the open (query_directory.py).
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
import struct
from collections.abc import Callable

from impacket import uuid
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_FILE_IS_A_DIRECTORY,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_NETWORK_NAME_DELETED,
    STATUS_NOT_A_DIRECTORY,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_SHARING_VIOLATION,
    STATUS_SUCCESS,
)

from ibs.fake_smb import (
    create_checks,
    delete_pending,
    durable,
    eas,
    fake_files,
    oplock_wire,
    sparse,
)
from ibs.fake_smb.access import GRANTED_KEY, granted
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid, share_root, times_and_sizes
from ibs.fake_smb.release import close_open
from ibs.fake_smb.share_modes import OpenTable, file_key, share_relevant

# CreateDisposition (MS-SMB2 2.2.13)
FILE_SUPERSEDE, FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF = range(6)
# CreateAction (MS-SMB2 2.2.14)
FILE_SUPERSEDED, FILE_OPENED, FILE_CREATED, FILE_OVERWRITTEN = range(4)
# CreateOptions
FILE_DIRECTORY_FILE = 0x00000001
FILE_NON_DIRECTORY_FILE = 0x00000040
FILE_DELETE_ON_CLOSE = 0x00001000
SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB = 0x0001


def resolve_path(root: str, name: str) -> str | None:
    """Map an SMB path (backslashes, relative to the share) into root, or
    None when it would escape the share or names a stream."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    if any(":" in p for p in parts):
        # "name:stream[:type]" names an alternate data stream (MS-FSCC 2.1.5); this share has
        # none, and Samba without a streams module answers OBJECT_NAME_INVALID, as we do.
        # Never a local file with a colon in its name.
        return None
    full = os.path.join(root, *parts) if parts else root
    real_root = os.path.realpath(root)
    real = os.path.realpath(full)
    if real != real_root and not real.startswith(real_root + os.sep):
        return None
    return full


def _is_empty_dir(path: str) -> bool:
    with os.scandir(path) as it:
        return next(it, None) is None


def _open_existing(path: str, is_dir: bool) -> int:
    if is_dir:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return os.open(path, os.O_RDWR)
    except PermissionError:
        return os.open(path, os.O_RDONLY)


def _status_for(exc: OSError) -> int:
    return {
        errno.ENOENT: STATUS_OBJECT_PATH_NOT_FOUND,
        errno.EEXIST: STATUS_OBJECT_NAME_COLLISION,
        errno.ENOTDIR: STATUS_OBJECT_PATH_NOT_FOUND,
        errno.EISDIR: STATUS_FILE_IS_A_DIRECTORY,
        errno.ENAMETOOLONG: STATUS_OBJECT_NAME_INVALID,
    }.get(exc.errno, STATUS_ACCESS_DENIED)


def _create(path: str, disposition: int, options: int,
            admit: Callable[[os.stat_result | None], int]) -> tuple[int, int, int]:
    """Carry out the disposition; return (status, fd, create action).  A file is created, or
    an existing one opened (or overwritten), only if admit(its stat, None for a new file)
    answers STATUS_SUCCESS (delete pending, share modes); else its status is the answer."""
    want_dir = bool(options & FILE_DIRECTORY_FILE)
    want_file = bool(options & FILE_NON_DIRECTORY_FILE)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        return STATUS_OBJECT_PATH_NOT_FOUND, -1, 0

    if st is None:
        if not os.path.isdir(os.path.dirname(path)):
            return STATUS_OBJECT_PATH_NOT_FOUND, -1, 0
        if disposition in (FILE_OPEN, FILE_OVERWRITE):
            return STATUS_OBJECT_NAME_NOT_FOUND, -1, 0
        if disposition not in (FILE_SUPERSEDE, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE_IF):
            return STATUS_INVALID_PARAMETER, -1, 0
        status = admit(None)
        if status != STATUS_SUCCESS:
            return status, -1, 0
        if want_dir:
            os.mkdir(path)
            return STATUS_SUCCESS, os.open(path, os.O_RDONLY | os.O_DIRECTORY), FILE_CREATED
        return STATUS_SUCCESS, os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), FILE_CREATED

    is_dir = stat_mod.S_ISDIR(st.st_mode)
    if disposition == FILE_CREATE:
        return STATUS_OBJECT_NAME_COLLISION, -1, 0
    if is_dir and want_file:
        return STATUS_FILE_IS_A_DIRECTORY, -1, 0
    if not is_dir and want_dir:
        return STATUS_NOT_A_DIRECTORY, -1, 0
    status = admit(st)
    if status != STATUS_SUCCESS:
        return status, -1, 0  # before an overwrite touches the contents
    fd = _open_existing(path, is_dir)
    if disposition in (FILE_SUPERSEDE, FILE_OVERWRITE, FILE_OVERWRITE_IF) and not is_dir:
        # Overwrite means the old contents are gone (MS-FSA 2.1.5.1.2.1).
        try:
            os.ftruncate(fd, 0)  # fails on a read-only file, which _open_existing opened O_RDONLY
        except OSError:
            os.close(fd)
            raise
        return STATUS_SUCCESS, fd, FILE_SUPERSEDED if disposition == FILE_SUPERSEDE else FILE_OVERWRITTEN
    return STATUS_SUCCESS, fd, FILE_OPENED


# Packed by hand: impacket's generic Structure parse and pack of these cost more than the
# rest of a CREATE (smb2.dir.many opens and closes 1,400 files).
_CREATE_REQUEST = struct.Struct("<HBBIQQIIIIIHHII")  # StructureSize .. CreateContextsLength (2.2.13)
_CREATE_RESPONSE = struct.Struct("<HBBIQQQQQQII16sII")  # StructureSize .. CreateContextsLength (2.2.14)
_CLOSE_REQUEST = struct.Struct("<HHI16s")  # StructureSize Flags Reserved FileId (2.2.15)
_CLOSE_RESPONSE = struct.Struct("<HHIQQQQQQI")  # StructureSize .. FileAttributes (2.2.16)


def parse_create(body) -> dict:
    """The fields of an SMB2 CREATE request this server reads, the name as UTF-16 bytes."""
    (_, _, oplock, impersonation, _, _, desired, attributes, share, disposition, options, name_offset,
     name_length, contexts_offset, contexts_length) = _CREATE_REQUEST.unpack_from(body, 0)
    start = name_offset - 64
    name = bytes(body[start : start + name_length]) if name_length and start >= _CREATE_REQUEST.size else b""
    return {"DesiredAccess": desired, "FileAttributes": attributes, "ShareAccess": share,
            "CreateDisposition": disposition, "CreateOptions": options, "Name": name,
            "RequestedOplockLevel": oplock, "ImpersonationLevel": impersonation,
            "CreateContexts": durable.contexts(body, contexts_offset, contexts_length)}


def create_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    root = share_root(conn_data, recvPacket["TreeID"])
    if root is None:
        # IPC$ (no path) or an unknown tree: no named pipes are served.
        status = STATUS_NETWORK_NAME_DELETED if recvPacket["TreeID"] not in conn_data["ConnectedShares"] else STATUS_OBJECT_NAME_NOT_FOUND
        return error(status)
    req = parse_create(recvPacket["Data"])
    status, req["DurableRequest"] = durable.requested(req["CreateContexts"])
    if status != STATUS_SUCCESS:
        return error(status)
    name = req["Name"].decode("utf-16le")
    impersonation = create_checks.impersonation_status(req["ImpersonationLevel"])
    if fake_files.is_quota_file(name):
        if impersonation != STATUS_SUCCESS:
            return error(impersonation)
        return _open_quota_file(conn_data, recvPacket["TreeID"], root, req)
    # smbd's order: the name is resolved (a stream name, a missing folder on the way), then
    # the impersonation level validated, then a leading separator refused.
    path = resolve_path(root, name)
    if path is None:
        return error(STATUS_OBJECT_NAME_INVALID)
    if not os.path.isdir(os.path.dirname(path)):
        return error(STATUS_OBJECT_PATH_NOT_FOUND)
    if impersonation != STATUS_SUCCESS:
        return error(impersonation)
    if name.startswith("\\"):
        # The name is relative to the share and must not begin with a separator
        # (MS-SMB2 2.2.13); Samba and Windows answer INVALID_PARAMETER.
        return error(STATUS_INVALID_PARAMETER)
    status = create_checks.attributes_status(req["CreateOptions"], req["FileAttributes"])
    if status != STATUS_SUCCESS:
        return error(status)
    status, req["EAs"] = eas.from_create(recvPacket["Data"])
    if status != STATUS_SUCCESS:
        return error(status)
    table = smbServer.open_table
    access, share = share_relevant(req["DesiredAccess"]), req["ShareAccess"]
    # The check, the open and the table entry under one lock: no other CREATE or rename
    # between them (MS-FSA 2.1.5.1.2).
    # Oplocks in the way are broken first, and an oplock granted with the open.
    return oplock_wire.create(connId, smbServer, recvPacket, req, path, access, share,
                              lambda: _open_locked(conn_data, recvPacket["TreeID"], table, path, req, access, share))


def _open_locked(conn_data: dict, tree_id: int, table: OpenTable, path: str, req,
                 access: int, share: int):
    options = req["CreateOptions"]
    delete_on_close = bool(options & FILE_DELETE_ON_CLOSE)

    def admit(st: os.stat_result | None) -> int:
        if delete_on_close:
            status = delete_pending.create_status(granted(req["DesiredAccess"]), st, req["FileAttributes"])
            if status != STATUS_SUCCESS:
                return status
        if st is None:
            return STATUS_SUCCESS
        status = delete_pending.open_status(table, file_key(st))
        if status != STATUS_SUCCESS:
            return status
        return STATUS_SHARING_VIOLATION if table.conflicting(file_key(st), access, share) else STATUS_SUCCESS

    try:
        status, fd, action = _create(path, req["CreateDisposition"], options, admit)
    except OSError as exc:
        return error(_status_for(exc))
    if status != STATUS_SUCCESS:
        return error(status)

    try:
        if req["EAs"] and action in (FILE_CREATED, FILE_OVERWRITTEN):
            status = eas.write(fd, granted(req["DesiredAccess"]), req["EAs"])
            if status != STATUS_SUCCESS:
                os.close(fd)
                return error(status)
        if action == FILE_CREATED and req["FileAttributes"] & delete_pending.FILE_ATTRIBUTE_READONLY:
            os.fchmod(fd, 0o444)  # read-only is the owner's write bit; this open may still write
        st = os.fstat(fd)
        if action != FILE_OPENED:
            sparse.forget(st)  # new (maybe on a deleted sparse file's inode) or overwritten
        if delete_on_close and stat_mod.S_ISDIR(st.st_mode) and not _is_empty_dir(path):
            os.close(fd)
            return error(STATUS_DIRECTORY_NOT_EMPTY)
    except OSError as exc:
        os.close(fd)
        return error(_status_for(exc))

    fid = uuid.generate()
    t = times_and_sizes(st)
    resp = RawBody(_CREATE_RESPONSE.pack(
        89, 0, 0, action, t["CreationTime"], t["LastAccessTime"], t["LastWriteTime"], t["ChangeTime"],
        t["AllocationSize"], t["EndOfFile"], t["FileAttributes"], 0, fid, 0, 0) + b"\x00")
    entry = {
        "FileHandle": fd,
        "FileName": path,
        "DeleteOnClose": delete_on_close,
        GRANTED_KEY: granted(req["DesiredAccess"]),
        "TreeID": tree_id,  # TREE_DISCONNECT closes the opens made through it
    }
    # release.close_open takes it out of the table again, however the open ends.
    entry["ShareMode"] = table.add(file_key(st), access, share, entry)
    conn_data["OpenedFiles"][fid] = entry
    conn_data["LastRequest"]["SMB2_CREATE"] = {"FileID": fid}
    return [resp], None, STATUS_SUCCESS


def _open_quota_file(conn_data: dict, tree_id: int, root: str, req):
    try:
        fd, name = fake_files.open_quota_file(root)
    except OSError as exc:
        return error(_status_for(exc))
    fid = uuid.generate()
    resp = RawBody(_CREATE_RESPONSE.pack(89, 0, 0, FILE_OPENED, 0, 0, 0, 0, 0, 0, fake_files.ATTRIBUTES, 0,
                                         fid, 0, 0) + b"\x00")
    conn_data["OpenedFiles"][fid] = {
        "FileHandle": fd, "FileName": name, "DeleteOnClose": False, "TreeID": tree_id,
        GRANTED_KEY: granted(req["DesiredAccess"]),
    }
    conn_data["LastRequest"]["SMB2_CREATE"] = {"FileID": fid}
    return [resp], None, STATUS_SUCCESS


def direct_create_handler(connId, smbServer, recvPacket):
    """create_handler for a lone CREATE (fast_path): no later request of a compound can name
    its open as the related one, so it is not remembered as such (impacket's dispatcher
    forgets it at the end of every request it handles)."""
    answer = create_handler(connId, smbServer, recvPacket)
    smbServer.getConnectionData(connId)["LastRequest"].pop("SMB2_CREATE", None)
    return answer


def close_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    _, flags, _, raw_fid = _CLOSE_REQUEST.unpack_from(recvPacket["Data"], 0)
    fid = resolve_fid(conn_data, raw_fid)
    entry = conn_data["OpenedFiles"].pop(fid, None)
    if entry is None:
        return error(STATUS_INVALID_HANDLE)
    try:
        if flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB:
            t = times_and_sizes(os.fstat(entry["FileHandle"]))
            fields = (SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, t["CreationTime"], t["LastAccessTime"],
                      t["LastWriteTime"], t["ChangeTime"], t["AllocationSize"], t["EndOfFile"],
                      t["FileAttributes"])
        else:
            fields = (0,) * 8
    finally:
        close_open(entry, smbServer.log)
    flags, *rest = fields
    return [RawBody(_CLOSE_RESPONSE.pack(60, flags, 0, *rest))], None, STATUS_SUCCESS
