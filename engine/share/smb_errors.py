"""Map what smbprotocol raises onto the five alert categories (engine.errors).

NTSTATUS values are from [MS-ERREF] 2.3.1. Messages are one line, name the path and never
carry a secret: smbprotocol's own messages hold no password, but we still build our own.
"""

from __future__ import annotations

import errno
import socket

from smbprotocol.exceptions import SMBAuthenticationError, SMBException, SMBResponseException

from ibs.engine.errors import (
    AuthenticationError,
    ConnectivityError,
    GeneralFaultError,
    PathFaultError,
    ShareCapacityError,
    ShareError,
)

_AUTH = {
    0xC000006D: "logon failure (unknown user or wrong password)",  # STATUS_LOGON_FAILURE
    0xC000006A: "wrong password",  # STATUS_WRONG_PASSWORD
    0xC0000064: "no such user",  # STATUS_NO_SUCH_USER
    0xC0000071: "password expired",  # STATUS_PASSWORD_EXPIRED
    0xC0000072: "account disabled",  # STATUS_ACCOUNT_DISABLED
    0xC000006E: "account restriction",  # STATUS_ACCOUNT_RESTRICTION
    0xC0000234: "account locked out",  # STATUS_ACCOUNT_LOCKED_OUT
    0xC0000193: "account expired",  # STATUS_ACCOUNT_EXPIRED
    0xC0000224: "password must change",  # STATUS_PASSWORD_MUST_CHANGE
    0xC0000022: "access denied",  # STATUS_ACCESS_DENIED
    0xC0000061: "privilege not held",  # STATUS_PRIVILEGE_NOT_HELD
}
_PATH = {
    0xC00000CC: "share does not exist",  # STATUS_BAD_NETWORK_NAME
    0xC0000034: "not found",  # STATUS_OBJECT_NAME_NOT_FOUND
    0xC000003A: "path not found",  # STATUS_OBJECT_PATH_NOT_FOUND
    0xC000000F: "not found",  # STATUS_NO_SUCH_FILE
    0xC0000103: "not a folder",  # STATUS_NOT_A_DIRECTORY
    0xC0000033: "invalid name",  # STATUS_OBJECT_NAME_INVALID
    0xC0000039: "invalid path",  # STATUS_OBJECT_PATH_INVALID
    0xC000003B: "bad path syntax",  # STATUS_OBJECT_PATH_SYNTAX_BAD
}
_CAPACITY = {
    0xC000007F: "disk full",  # STATUS_DISK_FULL
    0xC0000044: "quota exceeded",  # STATUS_QUOTA_EXCEEDED
    0xC000009A: "server out of resources",  # STATUS_INSUFFICIENT_RESOURCES
}
_CONNECTIVITY = {
    0xC00000C9: "share connection was deleted",  # STATUS_NETWORK_NAME_DELETED
    0xC0000203: "session was deleted",  # STATUS_USER_SESSION_DELETED
    0xC000020C: "connection was closed",  # STATUS_CONNECTION_DISCONNECTED
    0xC000023C: "network unreachable",  # STATUS_NETWORK_UNREACHABLE
    0xC000023D: "host unreachable",  # STATUS_HOST_UNREACHABLE
    0xC00000B5: "I/O timeout",  # STATUS_IO_TIMEOUT
    0xC000035C: "session expired",  # STATUS_NETWORK_SESSION_EXPIRED
}
_GENERAL = {
    0xC0000035: "already exists",  # STATUS_OBJECT_NAME_COLLISION
    0xC0000043: "in use (sharing violation)",  # STATUS_SHARING_VIOLATION
    0xC0000101: "folder is not empty",  # STATUS_DIRECTORY_NOT_EMPTY
    0xC00000BA: "is a folder",  # STATUS_FILE_IS_A_DIRECTORY
    0xC0000056: "delete pending",  # STATUS_DELETE_PENDING
    0xC00000BB: "not supported by the server",  # STATUS_NOT_SUPPORTED
}


def status_of(exc: BaseException) -> int | None:
    if isinstance(exc, SMBResponseException):
        try:
            return int(exc.status)
        except Exception:  # noqa: BLE001 - a malformed header must not mask the real error
            return None
    return None


# A connection the server or a firewall cut: the client hears of it as a closed socket, a reset,
# a broken pipe, or a descriptor its receiving thread already closed, whichever its threads meet
# first. One wording for all, so the same fault reads the same in every run (a simulated run's
# events are compared byte for byte).
_RESET = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.EBADF, errno.ENOTCONN})
_LOST = "connection lost (closed by the server or by a firewall)"


def translate(exc: BaseException, what: str, where: str) -> ShareError:
    """``what`` is the operation ("creating MASBackup/x"), ``where`` the secret-free UNC path."""
    if isinstance(exc, ShareError):
        return exc
    status = status_of(exc)
    if status is not None:
        for table, cls in (
            (_AUTH, AuthenticationError),
            (_PATH, PathFaultError),
            (_CAPACITY, ShareCapacityError),
            (_CONNECTIVITY, ConnectivityError),
        ):
            if status in table:
                return cls(f"{where}: {table[status]} while {what}")
        reason = _GENERAL.get(status, f"server answered NTSTATUS 0x{status:08X}")
        return GeneralFaultError(f"{where}: {reason} while {what}")
    if isinstance(exc, SMBAuthenticationError):
        return AuthenticationError(f"{where}: authentication failed while {what}")
    if isinstance(exc, ValueError) and "Failed to connect" in str(exc):
        # smbprotocol wraps socket errors from connect() in a ValueError.
        cause = exc.__cause__
        if isinstance(cause, socket.gaierror):
            return ConnectivityError(f"{where}: host name does not resolve while {what}")
        reason = getattr(cause, "strerror", None) or str(cause or exc)
        return ConnectivityError(f"{where}: cannot connect ({reason}) while {what}")
    if isinstance(exc, socket.gaierror):
        return ConnectivityError(f"{where}: host name does not resolve while {what}")
    if isinstance(exc, OSError) and exc.errno in _RESET:
        return ConnectivityError(f"{where}: {_LOST} while {what}")
    if isinstance(exc, (OSError, TimeoutError)):
        reason = exc.strerror or type(exc).__name__
        return ConnectivityError(f"{where}: network error ({reason}) while {what}")
    if isinstance(exc, SMBException):
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "closed" in text.lower():
            return ConnectivityError(f"{where}: {_LOST} while {what}")
        if "timeout" in text.lower():
            return ConnectivityError(f"{where}: connection lost ({text}) while {what}")
        return GeneralFaultError(f"{where}: {text} while {what}")
    return GeneralFaultError(f"{where}: unexpected {type(exc).__name__} while {what}")
