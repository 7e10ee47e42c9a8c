"""FSCTL_GET_COMPRESSION and FSCTL_SET_COMPRESSION on a share without compression (MS-FSA
2.1.5.10.7, 2.1.5.10.36), as Samba and Windows Server 2016 answer them (smbtorture
smb2.ioctl.compress_notsup_get, compress_notsup_set): every file is uncompressed, asking
for that succeeds, asking for compression is NOT_SUPPORTED.
"""

from __future__ import annotations

import struct

from impacket.nt_errors import STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED

from ibs.fake_smb.fsctl_request import Fsctl
from ibs.fake_smb.handler_util import error

FSCTL_GET_COMPRESSION = 0x0009003C
FSCTL_SET_COMPRESSION = 0x0009C040
COMPRESSION_FORMAT_NONE, COMPRESSION_FORMAT_DEFAULT, COMPRESSION_FORMAT_LZNT1 = 0, 1, 2


def get_compression(req: Fsctl):
    if req.max_output < 2:
        return error(STATUS_INVALID_PARAMETER)
    return req.answer(struct.pack("<H", COMPRESSION_FORMAT_NONE))


def set_compression(req: Fsctl):
    if len(req.input) < 2:
        return error(STATUS_INVALID_PARAMETER)
    (fmt,) = struct.unpack_from("<H", req.input, 0)
    if fmt == COMPRESSION_FORMAT_NONE:
        return req.answer(b"")
    if fmt in (COMPRESSION_FORMAT_DEFAULT, COMPRESSION_FORMAT_LZNT1):
        return error(STATUS_NOT_SUPPORTED)
    return error(STATUS_INVALID_PARAMETER)
