"""FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11, 2.2.32.5): the interfaces a
multichannel client may open more channels on.

fake_smb listens on 127.0.0.1 only, so that is the one interface it names, never another
address of the machine: the answer smbd gives with ``interfaces = 127.0.0.1`` (the loopback
interface's index, no RSS or RDMA, 1 Gbit/s, as smbd assumes for a link it cannot measure).
"""

from __future__ import annotations

import socket
import struct

from impacket.nt_errors import STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER

from ibs.fake_smb.handler_util import error

FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401FC
NO_FILE = b"\xff" * 16  # the FileId of an IOCTL that names no open
_AF_INET = 0x0002
_LINK_SPEED = 1_000_000_000  # bits per second
# Next, IfIndex, Capability, Reserved, LinkSpeed, then SOCKADDR_STORAGE (128 bytes):
# Family, Port, IPv4 address, zeros.
_ENTRY = struct.Struct("<IIIIQHH4s120x")


def _loopback_index() -> int:
    for name in ("lo", "lo0"):
        try:
            return socket.if_nametoindex(name)
        except OSError:
            continue
    return 0xFFFFFFFF  # smbd's value when the kernel does not tell


def interfaces() -> bytes:
    """The NETWORK_INTERFACE_INFO list: 127.0.0.1 alone."""
    return _ENTRY.pack(0, _loopback_index(), 0, 0, _LINK_SPEED, _AF_INET, 0, socket.inet_aton("127.0.0.1"))


def query(request):
    """Answer the FSCTL (request: fsctl_request.Fsctl, its open unused), as smbd does: input
    is refused, the FileId must be all ones, and the list must fit in MaxOutputResponse."""
    if request.raw_fid != NO_FILE or request.input:
        return error(STATUS_INVALID_PARAMETER)
    output = interfaces()
    if len(output) > request.max_output:
        return error(STATUS_BUFFER_TOO_SMALL)
    return request.answer(output)
