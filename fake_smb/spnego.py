"""The SPNEGO pieces impacket lacks: the mechListMIC and the DER it covers.

MS-SPNG 3.3.5.1 (and RFC 4178 5): once NTLM has run with a MIC in its
AUTHENTICATE message, both sides send a mechListMIC -- the mechanism's
signature (MS-NLMP 3.4.4.2, sequence number 0, keys from the exported session
key) over the DER of the client's mechTypes exactly as the client sent them.
impacket parses a NegTokenResp without its mechListMIC and cannot emit a
final NegTokenResp with one; these helpers do both.  Parsing raises
``SpnegoError`` and nothing else.
"""

from __future__ import annotations

from Cryptodome.Cipher import ARC4
from impacket import ntlm

NTLMSSP_OID = bytes.fromhex("2b06010401823702020a")  # 1.3.6.1.4.1.311.2.2.10

ACCEPT_COMPLETED = 0
ACCEPT_INCOMPLETE = 1

_SEQUENCE, _OCTET_STRING, _OID, _ENUMERATED = 0x30, 0x04, 0x06, 0x0A
_GSS_APPLICATION_0 = 0x60
_NEG_TOKEN_INIT, _NEG_TOKEN_RESP = 0xA0, 0xA1


class SpnegoError(ValueError):
    """A security blob that is not the DER this server expects."""


# -- DER -------------------------------------------------------------------------
def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at data[pos]."""
    if pos + 2 > len(data):
        raise SpnegoError("DER element truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise SpnegoError("DER length invalid")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise SpnegoError("DER element longer than the blob")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> dict[int, tuple[int, int, int]]:
    """Tag -> (element start, value start, value end) of the elements in data[start:end]."""
    out = {}
    pos = start
    while pos < end:
        tag, vstart, vend = _tlv(data, pos)
        out[tag] = (pos, vstart, vend)
        pos = vend
    return out


def _der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes((tag, n)) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + value


def _expect(data: bytes, pos: int, tag: int, what: str) -> tuple[int, int]:
    got, start, end = _tlv(data, pos)
    if got != tag:
        raise SpnegoError(f"{what}: tag {got:#x}, expected {tag:#x}")
    return start, end


# -- the client's tokens -----------------------------------------------------------
def mech_types_der(init_blob: bytes) -> bytes:
    """The mechTypes element of a GSS-wrapped NegTokenInit, as the client encoded it."""
    start, end = _expect(init_blob, 0, _GSS_APPLICATION_0, "GSS-API token")
    _, oid_end = _expect(init_blob, start, _OID, "SPNEGO OID")
    start, end = _expect(init_blob, oid_end, _NEG_TOKEN_INIT, "NegTokenInit")
    start, end = _expect(init_blob, start, _SEQUENCE, "NegTokenInit sequence")
    fields = _children(init_blob, start, end)
    if 0xA0 not in fields:
        raise SpnegoError("NegTokenInit without mechTypes")
    _, vstart, _ = fields[0xA0]
    _, _, seq_end = _tlv(init_blob, vstart)
    return init_blob[vstart:seq_end]


def resp_mech_list_mic(resp_blob: bytes) -> bytes | None:
    """The mechListMIC of a client's NegTokenResp, None when it has none."""
    start, end = _expect(resp_blob, 0, _NEG_TOKEN_RESP, "NegTokenResp")
    start, end = _expect(resp_blob, start, _SEQUENCE, "NegTokenResp sequence")
    fields = _children(resp_blob, start, end)
    if 0xA3 not in fields:
        return None
    _, vstart, _ = fields[0xA3]
    start, end = _expect(resp_blob, vstart, _OCTET_STRING, "mechListMIC")
    return resp_blob[start:end]


# -- the server's tokens -----------------------------------------------------------
def neg_token_resp(neg_state: int, response_token: bytes | None = None, mech_list_mic: bytes | None = None,
                   supported_mech: bytes | None = None) -> bytes:
    """A NegTokenResp (RFC 4178 4.2.2) with the fields given."""
    body = _der(0xA0, _der(_ENUMERATED, bytes((neg_state,))))
    if supported_mech is not None:
        body += _der(0xA1, _der(_OID, supported_mech))
    if response_token is not None:
        body += _der(0xA2, _der(_OCTET_STRING, response_token))
    if mech_list_mic is not None:
        body += _der(0xA3, _der(_OCTET_STRING, mech_list_mic))
    return _der(_NEG_TOKEN_RESP, _der(_SEQUENCE, body))


# -- the NTLM signature ------------------------------------------------------------
def ntlm_mic(exported_session_key: bytes, flags: int, message: bytes, *, from_server: bool) -> bytes:
    """NTLM's GSS_GetMIC (MS-NLMP 3.4.4) of message with sequence number 0.

    The first signature in each direction uses a fresh RC4 handle, which is
    all a mechListMIC needs: SMB signs and seals with its own keys afterwards.
    """
    mode = "Server" if from_server else "Client"
    sign_key = ntlm.SIGNKEY(flags, exported_session_key, mode)
    seal_key = ntlm.SEALKEY(flags, exported_session_key, mode)
    handle = ARC4.new(seal_key).encrypt
    return ntlm.MAC(flags, handle, sign_key, 0, message).getData()
