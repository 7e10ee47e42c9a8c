"""SMB2 NEGOTIATE for dialects 2.0.2 to 3.1.1 (MS-SMB2 2.2.3, 2.2.4, 3.3.5.4).

impacket answers every NEGOTIATE with 2.0.2; this handler replaces it.  It
picks the highest dialect inside the server's [min, max] window, and for 3.1.1
answers the negotiate contexts (pre-auth integrity SHA-512, cipher, signing).
"""

from __future__ import annotations

import os
import struct
import time

from impacket import smb3structs as smb2
from impacket.nt_errors import STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS
from impacket.spnego import SPNEGO_NegTokenInit, TypesMech

from ibs.fake_smb import crypto, signing
from ibs.fake_smb.dialects import DIALECTS, SMB_2_1, SMB_3_0, SMB_3_0_2, SMB_3_1_1
from ibs.fake_smb.state import get_state

# Negotiate context types (MS-SMB2 2.2.3.1).
PREAUTH_INTEGRITY = 0x0001
ENCRYPTION = 0x0002
SIGNING = 0x0008
SHA_512 = 0x0001

# Capabilities (MS-SMB2 2.2.4).
CAP_LARGE_MTU = 0x00000004
CAP_ENCRYPTION = 0x00000040
SIGNING_ENABLED = 0x0001

# Large I/O is the point of this server: 8 MiB per READ/WRITE (needs LARGE_MTU,
# so 2.1+).  2.0.2 has no multi-credit requests and stays at 64 KiB.
MAX_IO = 8 * 1024 * 1024
MAX_IO_2_0_2 = 65536

_EPOCH_AS_FILETIME = 116444736000000000


def _filetime(seconds: float) -> int:
    return _EPOCH_AS_FILETIME + int(seconds * 10_000_000)


class NegotiateRequest:
    """The fields of an SMB2 NEGOTIATE request this server acts on."""

    def __init__(self, body: bytes) -> None:
        (_, count, self.security_mode, _, self.capabilities) = struct.unpack_from("<HHHHI", body, 0)
        self.client_guid = body[12:28]
        ctx_offset, ctx_count = struct.unpack_from("<IH", body, 28)
        self.dialects = list(struct.unpack_from(f"<{count}H", body, 36))
        self.contexts: dict[int, bytes] = {}
        if SMB_3_1_1 in self.dialects and ctx_count:
            # Offsets are from the start of the SMB2 header; body starts at 64.
            pos = ctx_offset - 64
            for _ in range(ctx_count):
                ctype, length = struct.unpack_from("<HH", body, pos)
                self.contexts[ctype] = body[pos + 8 : pos + 8 + length]
                pos += 8 + length
                pos += -pos % 8

    def ciphers(self) -> list[int]:
        data = self.contexts.get(ENCRYPTION, b"")
        if len(data) < 2:
            return []
        (n,) = struct.unpack_from("<H", data)
        return list(struct.unpack_from(f"<{n}H", data, 2))

    def signing_algorithms(self) -> list[int] | None:
        """The client's SigningAlgorithms, None without the context.

        ValueError for a context with no algorithm or fewer than it counts:
        MS-SMB2 3.3.5.4 has such a NEGOTIATE failed with INVALID_PARAMETER.
        """
        data = self.contexts.get(SIGNING)
        if data is None:
            return None
        n = struct.unpack_from("<H", data)[0] if len(data) >= 2 else 0
        if n == 0 or len(data) < 2 + 2 * n:
            raise ValueError("SMB2_SIGNING_CAPABILITIES without the algorithms it counts")
        return list(struct.unpack_from(f"<{n}H", data, 2))


def _context(ctype: int, data: bytes) -> bytes:
    return struct.pack("<HHI", ctype, len(data), 0) + data


def choose_dialect(offered: list[int], low: int, high: int) -> int | None:
    common = [d for d in offered if low <= d <= high and d in DIALECTS.values()]
    return max(common) if common else None


def _spnego_init_blob() -> bytes:
    blob = SPNEGO_NegTokenInit()
    blob["MechTypes"] = [TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]]
    return blob.getData()


def negotiate_handler(connId, smbServer, recvPacket, isSMB1=False):
    """Hook for SMB2_NEGOTIATE; signature as impacket's SMB2Commands.smb2Negotiate."""
    conn_data = smbServer.getConnectionData(connId, checkStatus=False)
    cfg = smbServer.fake_config
    if isSMB1:
        # SMB1 multi-protocol negotiate is not served (MS-SMB2 3.3.5.3): the
        # clients this server exists for speak SMB2 from the first packet.
        raise ConnectionAbortedError("SMB1 negotiate is not supported")
    req = NegotiateRequest(recvPacket["Data"])
    low, high = cfg.dialect_window()
    dialect = choose_dialect(req.dialects, low, high)
    if dialect is None:
        return [smb2.SMB2Error()], None, STATUS_NOT_SUPPORTED
    try:
        offered_signing = req.signing_algorithms() if dialect == SMB_3_1_1 else None
    except ValueError:
        return [smb2.SMB2Error()], None, STATUS_INVALID_PARAMETER

    state = get_state(conn_data)
    state.dialect = dialect
    state.security_mode = SIGNING_ENABLED
    state.server_guid = cfg.server_guid
    encryption_on = cfg.encryption != "off"
    caps = CAP_LARGE_MTU if dialect >= SMB_2_1 else 0
    if dialect in (SMB_3_0, SMB_3_0_2) and encryption_on and req.capabilities & CAP_ENCRYPTION:
        caps |= CAP_ENCRYPTION
        state.cipher_id = crypto.AES_128_CCM  # 3.0/3.0.2 only know AES-128-CCM
    contexts: list[bytes] = []
    if dialect == SMB_3_1_1:
        contexts.append(_context(PREAUTH_INTEGRITY, struct.pack("<HHH", 1, 32, SHA_512) + os.urandom(32)))
        chosen = 0
        if encryption_on:
            chosen = next((c for c in req.ciphers() if c in crypto.SUPPORTED_CIPHERS), 0)
        state.cipher_id = chosen
        # CipherCount 1 with cipher 0 means "no common cipher" (MS-SMB2 3.3.5.4).
        contexts.append(_context(ENCRYPTION, struct.pack("<HH", 1, chosen)))
    state.sign_algo, answer_signing = signing.choose(offered_signing, dialect)
    if answer_signing:
        contexts.append(_context(SIGNING, struct.pack("<HH", 1, state.sign_algo)))
    state.server_caps = caps

    max_io = MAX_IO if dialect >= SMB_2_1 else MAX_IO_2_0_2
    blob = _spnego_init_blob()
    buffer_offset = 64 + 64
    ctx_offset = 0
    tail = blob
    if contexts:
        pad = -(buffer_offset + len(blob)) % 8
        ctx_offset = buffer_offset + len(blob) + pad
        joined = b""
        for i, ctx in enumerate(contexts):
            if i:
                joined += b"\x00" * (-len(joined) % 8)
            joined += ctx
        tail = blob + b"\x00" * pad + joined
    now = _filetime(time.time())
    body = struct.pack(
        "<HHHH16sIIIIQQHHI",
        65,
        state.security_mode,
        dialect,
        len(contexts),
        state.server_guid,
        caps,
        max_io,
        max_io,
        max_io,
        now,
        _filetime(cfg.started_at),
        buffer_offset,
        len(blob),
        ctx_offset,
    ) + tail

    resp = smb2.SMB2Packet()
    resp["Flags"] = smb2.SMB2_FLAGS_SERVER_TO_REDIR
    resp["Status"] = STATUS_SUCCESS
    resp["CreditRequestResponse"] = 1
    resp["Command"] = smb2.SMB2_NEGOTIATE
    resp["SessionID"] = 0
    resp["MessageID"] = recvPacket["MessageID"]
    resp["TreeID"] = 0
    resp["Data"] = body
    smbServer.setConnectionData(connId, conn_data)
    return None, [resp], STATUS_SUCCESS


def validate_negotiate_ioctl(connId, smbServer, ioctlRequest):
    """FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12).

    The 3.0/3.0.2 client re-checks over a signed channel what NEGOTIATE said;
    impacket answers with hard-coded 2.0.2 values, so the client would abort.
    """
    state = get_state(smbServer.getConnectionData(connId))
    data = struct.pack("<I16sHH", state.server_caps, state.server_guid, state.security_mode, state.dialect)
    return data, STATUS_SUCCESS
