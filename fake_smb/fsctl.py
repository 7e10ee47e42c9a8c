"""SMB2 IOCTL: the FSCTLs fake_smb answers itself (MS-SMB2 3.3.5.15), every other control
code to impacket's handler (FSCTL_VALIDATE_NEGOTIATE_INFO is registered with it there)."""

from __future__ import annotations

import struct

from impacket.nt_errors import STATUS_FILE_CLOSED, STATUS_NOT_SUPPORTED

from ibs.fake_smb import compression, copy_chunk
from ibs.fake_smb.fsctl_request import Fsctl
from ibs.fake_smb.handler_util import error, resolve_fid

FSCTL_SRV_REQUEST_RESUME_KEY = 0x00140078
SMB2_0_IOCTL_IS_FSCTL = 0x00000001
_IOCTL_REQUEST = struct.Struct("<HHI16sIIIIIIII")  # StructureSize .. Reserved2 (2.2.31)
_HEADER_SIZE = 64

HANDLERS = {
    FSCTL_SRV_REQUEST_RESUME_KEY: copy_chunk.request_resume_key,
    copy_chunk.FSCTL_SRV_COPYCHUNK: copy_chunk.copy_chunk,
    copy_chunk.FSCTL_SRV_COPYCHUNK_WRITE: copy_chunk.copy_chunk,
    compression.FSCTL_GET_COMPRESSION: compression.get_compression,
    compression.FSCTL_SET_COMPRESSION: compression.set_compression,
}


def make_ioctl_handler(original):
    """IOCTL: the FSCTLs of HANDLERS here, every other control code to ``original``."""

    def ioctl_handler(connId, smbServer, recvPacket):
        body = bytes(recvPacket["Data"])
        if len(body) < _IOCTL_REQUEST.size:
            return original(connId, smbServer, recvPacket)
        (_, _, ctl_code, raw_fid, input_offset, input_count, _, _, _, max_output, flags,
         _) = _IOCTL_REQUEST.unpack_from(body, 0)
        handler = HANDLERS.get(ctl_code)
        if handler is None:
            return original(connId, smbServer, recvPacket)
        if flags != SMB2_0_IOCTL_IS_FSCTL:
            return error(STATUS_NOT_SUPPORTED)  # these are FSCTLs (MS-SMB2 3.3.5.15)
        conn_data = smbServer.getConnectionData(connId)
        entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
        if entry is None:
            return error(STATUS_FILE_CLOSED)
        start = input_offset - _HEADER_SIZE
        data = body[start : start + input_count] if input_count and start >= 0 else b""
        return handler(Fsctl(smbServer, conn_data, recvPacket["TreeID"], ctl_code, raw_fid, entry,
                             data, max_output))

    return ioctl_handler


# For fast_path: these FSCTLs answered directly, every other IOCTL left to impacket (None).
# Besides speed, impacket pads even a lone response to 8 bytes, and smbtorture reads copy-chunk
# data that comes with an error status only when it is exactly 12 bytes.
direct_ioctl_handler = make_ioctl_handler(lambda connId, smbServer, recvPacket: None)
