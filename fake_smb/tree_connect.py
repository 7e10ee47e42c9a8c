"""TREE_CONNECT: impacket's handler, but with the status Windows and Samba give for a missing share."""

from __future__ import annotations

from impacket import nt_errors
from impacket import smb3structs as smb2
from impacket.smbserver import searchShare

from ibs.fake_smb.handler_util import error

SMB2_HEADER_SIZE = 64  # MS-SMB2 2.2.1


def share_name(packet) -> str:
    body = packet["Data"]
    request = smb2.SMB2TreeConnect(body)
    # PathOffset counts from the start of the SMB2 header, which precedes the body.
    start = request["PathOffset"] - SMB2_HEADER_SIZE
    raw = body[start : start + request["PathLength"]]
    # The last component of \\server\share (ntpath.basename sees a UNC drive and says "").
    return raw.decode("utf-16le", errors="replace").rstrip("\\").rsplit("\\", 1)[-1]


def make_tree_connect_handler(original):
    def tree_connect(conn_id, server, packet):
        # MS-SMB2 3.3.5.7: an unknown share is STATUS_BAD_NETWORK_NAME. impacket answers
        # STATUS_OBJECT_PATH_NOT_FOUND, which clients report as a missing folder instead.
        if searchShare(conn_id, share_name(packet).upper(), server) is None:
            return error(nt_errors.STATUS_BAD_NETWORK_NAME)
        return original(conn_id, server, packet)

    return tree_connect
