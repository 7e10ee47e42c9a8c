"""A share reached over SMB 3 with smbprotocol's low-level API.

One connection, session and tree per ``SmbShare``: no smbclient, so no global connection
cache. ``SmbLink`` owns the connection and bounds every request (see smb_link.py); this module
maps the ``Share`` operations onto CREATE / QUERY_DIRECTORY / QUERY_INFO / SET_INFO / CLOSE.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from smbprotocol.file_info import (
    FileAttributes,
    FileFsFullSizeInformation,
    FileInformationClass,
    FileRenameInformation,
)
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
    SMB2QueryInfoRequest,
    SMB2QueryInfoResponse,
    SMB2SetInfoRequest,
)

from ibs.engine.errors import GeneralFaultError, PathFaultError, ShareError
from ibs.engine.share.base import Share, ShareStat, validate_relpath
from ibs.engine.share.smb_io import SmbReader, SmbWriter
from ibs.engine.share.smb_link import CREDIT_UNIT, SmbLink, SmbTarget, credit_shortfall
from ibs.engine.share.unc import UncPath, parse_unc

MAX_IO = 4 * 1024 * 1024  # per READ/WRITE; Samba offers 8 MiB, Windows 8 MiB, credits allowing

_NOT_FOUND = {0xC0000034, 0xC000003A, 0xC000000F, 0xC0000103}  # name, path, no such file, not a dir
_COLLISION = 0xC0000035  # STATUS_OBJECT_NAME_COLLISION
_SHARE_ALL = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE
_DELETE = FilePipePrinterAccessMask.DELETE
_READ_ATTRS = FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
_SYNC = FilePipePrinterAccessMask.SYNCHRONIZE


class SmbShare(Share):
    """Backups under ``\\\\host\\share\\folder``, reached over SMB 3.0 or later."""

    def __init__(
        self,
        unc: str,
        username: str | None,
        password: str | None,
        port: int = 445,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        require_encryption: bool = False,
        endpoint: tuple[str, int] | None = None,
    ) -> None:
        """``port`` is the configured SMB port. ``endpoint`` (address, port): connect there
        instead of to the UNC host on ``port``, e.g. a proxy in front of the server, or a name
        resolved elsewhere (a simulated PEP). Messages name the UNC path and ``port`` either way,
        so they read the same to the operator whatever carries the bytes."""
        self.target = SmbTarget(parse_unc(unc), username, password, port, connect_timeout,
                                request_timeout, require_encryption, endpoint)
        self.unc: UncPath = self.target.unc
        self.transfer_encrypted = None
        self.dialect: int | None = None
        self._link: SmbLink | None = None

    def __repr__(self) -> str:  # never the password
        return f"SmbShare({str(self.unc)!r}, user={self.target.username!r}, port={self.target.port})"

    def describe(self) -> str:
        return str(self.unc)

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        link = SmbLink(self.target)
        link.connect()
        self._link = link
        self.dialect = link.connection.dialect if link.connection else None
        self.transfer_encrypted = link.encrypted
        st = self.stat("")
        if st is None or not st.is_dir:
            self.close()
            raise PathFaultError(f"{self.unc}: folder does not exist")

    def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    @property
    def link(self) -> SmbLink:
        if self._link is None:
            raise GeneralFaultError(f"{self.unc}: share is not connected")
        return self._link

    @property
    def _chunk(self) -> int:
        conn = self.link.connection
        assert conn is not None
        return max(CREDIT_UNIT, min(MAX_IO, conn.max_read_size, conn.max_write_size))

    def _ensure_credits(self, nbytes: int) -> None:
        """Ask for more credits (with an ECHO) before a request that needs more than we hold."""
        conn = self.link.connection
        assert conn is not None
        if not conn.supports_multi_credit:
            return
        short = credit_shortfall(conn, nbytes)
        if short:
            with self.link.call("requesting credits"):
                conn.echo(sid=self.link.live_session().session_id, timeout=int(self.target.request_timeout) + 1,
                          credit_request=short + 1)

    # -- helpers ------------------------------------------------------------------------------

    def _smb_path(self, path: str) -> str:
        """Share-relative path ([MS-SMB2] 2.2.13: no leading separator) for a Share path."""
        parts = list(self.unc.folder_parts)
        if path:
            parts += validate_relpath(path).split("/")
        return "\\".join(parts)

    def _open(self, path: str, what: str, access: int, disposition: int, options: int = 0,
              share: int = _SHARE_ALL) -> Open:
        handle = Open(self.link.live_tree(), self._smb_path(path))
        with self.link.call(what):
            handle.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL,
                          share, disposition, options)
        return handle

    def _close(self, handle: Open, label: str) -> None:
        with self.link.call(f"closing {label}"):
            handle.close(False)

    @contextlib.contextmanager
    def _opened(self, path: str, what: str, access: int, disposition: int,
                options: int = 0) -> Iterator[Open]:
        handle = self._open(path, what, access, disposition, options)
        try:
            yield handle
        finally:
            if self.link.dead is None:
                self._close(handle, path or "/")

    def _query_info(self, handle: Open, info_class: type, what: str):
        info = info_class()
        req = SMB2QueryInfoRequest()
        req["info_type"] = info.INFO_TYPE
        req["file_info_class"] = info.INFO_CLASS
        req["file_id"] = handle.file_id
        req["output_buffer_length"] = len(info)
        tree = self.link.live_tree()
        with self.link.call(what):
            request = tree.session.connection.send(req, sid=tree.session.session_id,
                                                   tid=tree.tree_connect_id)
            response = tree.session.connection.receive(request)
        resp = SMB2QueryInfoResponse()
        resp.unpack(response["data"].get_value())
        return resp.parse_buffer(info_class)

    def _set_info(self, handle: Open, info, what: str) -> None:
        req = SMB2SetInfoRequest()
        req["info_type"] = info.INFO_TYPE
        req["file_info_class"] = info.INFO_CLASS
        req["file_id"] = handle.file_id
        req["buffer"] = info
        tree = self.link.live_tree()
        with self.link.call(what):
            request = tree.session.connection.send(req, sid=tree.session.session_id,
                                                   tid=tree.tree_connect_id)
            tree.session.connection.receive(request)

    @staticmethod
    def _status(exc: ShareError) -> int | None:
        return exc.smb_status

    # -- Share operations ---------------------------------------------------------------------

    def _scandir(self, path: str) -> list[tuple[str, bool]]:
        label = path or "/"
        entries: list[tuple[str, bool]] = []
        with self._opened(path, f"listing {label}", DirectoryAccessMask.FILE_LIST_DIRECTORY | _SYNC,
                          CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE) as handle:
            while True:
                try:
                    with self.link.call(f"listing {label}"):
                        batch = handle.query_directory(
                            "*", FileInformationClass.FILE_DIRECTORY_INFORMATION, max_output=65536)
                except ShareError as exc:
                    if self._status(exc) == 0x80000006:  # STATUS_NO_MORE_FILES ends the listing
                        break
                    raise
                for entry in batch:
                    name = entry["file_name"].get_value().decode("utf-16-le")
                    if name in (".", ".."):
                        continue
                    attrs = entry["file_attributes"].get_value()
                    entries.append((name, bool(attrs & FileAttributes.FILE_ATTRIBUTE_DIRECTORY)))
        return sorted(entries)

    def listdir(self, path: str) -> list[str]:
        return [name for name, _ in self._scandir(path)]

    def stat(self, path: str) -> ShareStat | None:
        try:
            handle = self._open(path, f"reading {path or '/'}", _READ_ATTRS | _SYNC,
                                CreateDisposition.FILE_OPEN)
        except PathFaultError as exc:
            if self._status(exc) in _NOT_FOUND:
                return None
            raise
        is_dir = bool(handle.file_attributes & FileAttributes.FILE_ATTRIBUTE_DIRECTORY)
        size = 0 if is_dir else int(handle.end_of_file)
        self._close(handle, path or "/")
        return ShareStat(size=size, is_dir=is_dir)

    def makedirs(self, path: str) -> None:
        parts = validate_relpath(path).split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            with self._opened(sub, f"creating {sub}", _READ_ATTRS | _SYNC,
                              CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE):
                pass

    def create(self, path: str) -> BinaryIO:
        access = (FilePipePrinterAccessMask.FILE_WRITE_DATA | FilePipePrinterAccessMask.FILE_APPEND_DATA
                  | _READ_ATTRS | FilePipePrinterAccessMask.FILE_WRITE_ATTRIBUTES | _SYNC)
        # FILE_OVERWRITE_IF: create, or truncate to zero what is there ([MS-SMB2] 2.2.13).
        handle = self._open(path, f"creating {path}", access, CreateDisposition.FILE_OVERWRITE_IF,
                            CreateOptions.FILE_NON_DIRECTORY_FILE)
        return SmbWriter(self.link, handle, path, self._chunk, self._ensure_credits)  # type: ignore[return-value]

    def open(self, path: str) -> BinaryIO:
        access = FilePipePrinterAccessMask.FILE_READ_DATA | _READ_ATTRS | _SYNC
        handle = self._open(path, f"opening {path}", access, CreateDisposition.FILE_OPEN,
                            CreateOptions.FILE_NON_DIRECTORY_FILE)
        return SmbReader(self.link, handle, path, self._chunk, self._ensure_credits)  # type: ignore[return-value]

    def rename(self, src: str, dst: str) -> None:
        target = self._smb_path(dst)
        try:
            with self._opened(src, f"renaming {src}", _DELETE | _READ_ATTRS | _SYNC,
                              CreateDisposition.FILE_OPEN) as handle:
                info = FileRenameInformation()
                info["replace_if_exists"] = False  # the destination must not exist
                # [MS-SMB2] 2.2.39: for SMB2 the new name is the full path from the share root.
                info["file_name"] = target
                self._set_info(handle, info, f"renaming {src} to {dst}")
        except ShareError as exc:
            if self._status(exc) == _COLLISION:
                raise GeneralFaultError(f"cannot rename {src} to {dst}: destination exists") from None
            raise

    def remove(self, path: str) -> None:
        try:
            self._delete(path, directory=False)
        except PathFaultError as exc:
            if self._status(exc) not in _NOT_FOUND:
                raise

    def _delete(self, path: str, directory: bool) -> None:
        kind = CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE
        # DELETE_ON_CLOSE: the name goes away when this handle closes ([MS-SMB2] 2.2.13).
        with self._opened(path, f"deleting {path}", _DELETE | _READ_ATTRS | _SYNC,
                          CreateDisposition.FILE_OPEN, kind | CreateOptions.FILE_DELETE_ON_CLOSE):
            pass

    def rmtree(self, path: str) -> None:
        validate_relpath(path)
        try:
            entries = self._scandir(path)
        except PathFaultError as exc:
            if self._status(exc) in _NOT_FOUND:
                return
            raise
        for name, is_dir in entries:
            child = f"{path}/{name}"
            if is_dir:
                self.rmtree(child)
            else:
                self.remove(child)
        self._delete(path, directory=True)

    def _fs_size(self) -> FileFsFullSizeInformation:
        with self._opened("", "reading free space", _READ_ATTRS | _SYNC, CreateDisposition.FILE_OPEN,
                          CreateOptions.FILE_DIRECTORY_FILE) as handle:
            return self._query_info(handle, FileFsFullSizeInformation, "reading free space")

    def free_space(self) -> int:
        info = self._fs_size()
        unit = info["sectors_per_unit"].get_value() * info["bytes_per_sector"].get_value()
        return info["caller_available_units"].get_value() * unit

    def total_space(self) -> int:
        info = self._fs_size()
        unit = info["sectors_per_unit"].get_value() * info["bytes_per_sector"].get_value()
        return info["total_allocation_units"].get_value() * unit
