"""One FSCTL as the handlers of fake_smb/fsctl.py see it, and the IOCTL response they answer."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from impacket.nt_errors import STATUS_SUCCESS

from ibs.fake_smb.handler_util import RawBody


@dataclass
class Fsctl:
    server: object  # the FakeSmbCore: .fake_config for the quota
    conn_data: dict
    tree_id: int
    ctl_code: int
    raw_fid: bytes  # as the request named the open (answered back unchanged)
    entry: dict  # the open it names
    input: bytes
    max_output: int

    def answer(self, output: bytes, status: int = STATUS_SUCCESS):
        """The IOCTL response (MS-SMB2 2.2.32): StructureSize 49, the output right after the
        48-byte body; an error status may carry output too (2.2.32.1)."""
        body = struct.pack("<HHI16sIIIIII", 49, 0, self.ctl_code, self.raw_fid, 0x70, 0, 0x70,
                           len(output), 0, 0)
        return [RawBody(body + output)], None, status
