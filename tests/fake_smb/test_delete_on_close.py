"""Delete-on-close and delete pending, as a user of the share sees them (MS-SMB2 3.3.5.9,
MS-FSA 2.1.5.1): FILE_DELETE_ON_CLOSE needs DELETE access, a read-only file cannot be
deleted, and a file whose delete is pending refuses new opens until its last open closes.
Each expectation was checked against Samba 4.17 (smbd answers the same).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.file_info import FileDispositionInformation
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    FilePipePrinterAccessMask,
)

from tests.fake_smb.raw_requests import open_file, set_info

STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_CANNOT_DELETE = 0xC0000121
STATUS_DELETE_PENDING = 0xC0000056

READ = FilePipePrinterAccessMask.FILE_READ_DATA | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
DELETE = FilePipePrinterAccessMask.DELETE
DOC = CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE


def _status(excinfo: pytest.ExceptionInfo[SMBResponseException]) -> int:
    return excinfo.value.status


def test_delete_on_close_with_delete_access_creates_then_deletes_the_file(clients, share: Path) -> None:
    tree = clients.login().tree
    handle = open_file(tree, "doc.dat", access=READ | DELETE, disposition=CreateDisposition.FILE_CREATE,
                       options=DOC)
    assert (share / "doc.dat").exists()
    handle.close()
    assert not (share / "doc.dat").exists()


def test_delete_on_close_without_delete_access_is_an_invalid_parameter_and_creates_nothing(clients, share: Path) -> None:
    tree = clients.login().tree
    with pytest.raises(SMBResponseException) as excinfo:
        open_file(tree, "nodelete.dat", access=READ, disposition=CreateDisposition.FILE_CREATE, options=DOC)
    assert _status(excinfo) == STATUS_INVALID_PARAMETER  # as Samba answers
    assert not (share / "nodelete.dat").exists()


def test_a_read_only_file_cannot_be_deleted_on_close(clients, share: Path) -> None:
    tree = clients.login().tree
    ro = FileAttributes.FILE_ATTRIBUTE_READONLY
    with pytest.raises(SMBResponseException) as excinfo:
        open_file(tree, "ro.dat", access=READ | DELETE, disposition=CreateDisposition.FILE_CREATE,
                  options=DOC, attributes=ro)
    assert _status(excinfo) == STATUS_CANNOT_DELETE
    assert not (share / "ro.dat").exists()  # refused before anything was created

    open_file(tree, "ro.dat", disposition=CreateDisposition.FILE_CREATE, attributes=ro).close()
    with pytest.raises(SMBResponseException) as excinfo:
        open_file(tree, "ro.dat", access=READ | DELETE, disposition=CreateDisposition.FILE_OPEN, options=DOC)
    assert _status(excinfo) == STATUS_CANNOT_DELETE

    handle = open_file(tree, "ro.dat", access=READ | DELETE, disposition=CreateDisposition.FILE_OPEN)
    info = FileDispositionInformation()
    info["delete_pending"] = True
    with pytest.raises(SMBResponseException) as excinfo:
        set_info(handle, info)
    assert _status(excinfo) == STATUS_CANNOT_DELETE
    handle.close()
    assert (share / "ro.dat").exists()


@pytest.mark.parametrize("how", ["create option", "disposition"])
def test_a_file_with_a_pending_delete_refuses_new_opens_until_its_last_open_closes(
        clients, share: Path, how: str) -> None:
    (share / "pending.dat").write_bytes(b"x")
    first, second = clients.login().tree, clients.login().tree
    other = open_file(second, "pending.dat", access=READ, disposition=CreateDisposition.FILE_OPEN)
    if how == "create option":
        doomed = open_file(first, "pending.dat", access=READ | DELETE,
                           disposition=CreateDisposition.FILE_OPEN, options=DOC)
        # Only a delete-on-close open: the delete is not pending yet, others may still open.
        open_file(second, "pending.dat", access=READ, disposition=CreateDisposition.FILE_OPEN).close()
    else:
        doomed = open_file(first, "pending.dat", access=READ | DELETE, disposition=CreateDisposition.FILE_OPEN)
        info = FileDispositionInformation()
        info["delete_pending"] = True
        set_info(doomed, info)
        with pytest.raises(SMBResponseException) as excinfo:
            open_file(second, "pending.dat", access=READ, disposition=CreateDisposition.FILE_OPEN)
        assert _status(excinfo) == STATUS_DELETE_PENDING

    doomed.close()  # another open remains: the file stays, its delete still pending
    assert (share / "pending.dat").exists()
    with pytest.raises(SMBResponseException) as excinfo:
        open_file(first, "pending.dat", access=READ, disposition=CreateDisposition.FILE_OPEN_IF)
    assert _status(excinfo) == STATUS_DELETE_PENDING

    other.close()  # the last open: now the file goes, and the name is free again
    assert not (share / "pending.dat").exists()
    open_file(first, "pending.dat", access=READ, disposition=CreateDisposition.FILE_CREATE).close()
