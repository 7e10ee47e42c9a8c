"""SMB2 SESSION_SETUP around impacket's NTLM acceptor (MS-SMB2 3.3.5.5).

impacket verifies the NTLMv2 response and yields the session key; this
wrapper adds what it lacks: unknown users and (unless allowed) anonymous
logons are refused instead of being let in as guest, a failed logon no longer
marks the connection authenticated, the refuse-logons fault, the encryption
policy, and the SMB 3 key derivation.
"""

from __future__ import annotations

import struct

from impacket import ntlm
from impacket import smb3structs as smb2
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_LOGON_FAILURE,
    STATUS_MORE_PROCESSING_REQUIRED,
    STATUS_SUCCESS,
)
from impacket.spnego import ASN1_AID, ASN1_SUPPORTED_MECH, SPNEGO_NegTokenInit, SPNEGO_NegTokenResp

from fake_smb import crypto
from fake_smb.handler_util import error
from fake_smb.state import get_state

SMB2_SESSION_FLAG_IS_GUEST = 0x0001
SMB2_SESSION_FLAG_IS_NULL = 0x0002
SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004
NTLM_AUTHENTICATE = 3


def _ntlm_token(blob: bytes) -> bytes:
    if not blob:
        return b""
    if blob[0] == ASN1_AID:
        return SPNEGO_NegTokenInit(blob)["MechToken"]
    if blob[0] == ASN1_SUPPORTED_MECH:
        return SPNEGO_NegTokenResp(blob)["ResponseToken"]
    return blob


def _authenticate_user(token: bytes) -> str | None:
    """The user name of an NTLM AUTHENTICATE_MESSAGE, None for other messages."""
    if not token.startswith(b"NTLMSSP\x00") or len(token) < 12:
        return None
    if struct.unpack_from("<I", token, 8)[0] != NTLM_AUTHENTICATE:
        return None
    msg = ntlm.NTLMAuthChallengeResponse()
    msg.fromString(token)
    return msg["user_name"].decode("utf-16le")


def make_session_setup_handler(original):
    def session_setup_handler(connId, smbServer, recvPacket):
        conn_data = smbServer.getConnectionData(connId, checkStatus=False)
        cfg = smbServer.fake_config
        state = get_state(conn_data)
        # A 3.x session that must be encrypted cannot be set up on a
        # connection that cannot encrypt (MS-SMB2 3.3.5.5, RejectUnencryptedAccess).
        if cfg.encryption == "required" and not state.can_encrypt:
            return _fail(conn_data, STATUS_ACCESS_DENIED)
        req = smb2.SMB2SessionSetup(recvPacket["Data"])
        user = _authenticate_user(_ntlm_token(req["Buffer"]))
        if user is not None:
            if cfg.faults.refuse_logons:
                return _fail(conn_data, STATUS_LOGON_FAILURE)
            if user == "":
                if not cfg.allow_anonymous or cfg.encryption == "required":
                    return _fail(conn_data, STATUS_ACCESS_DENIED)
            elif user.lower() not in smbServer.getCredentials():
                return _fail(conn_data, STATUS_LOGON_FAILURE)

        commands, packets, status = original(connId, smbServer, recvPacket)
        conn_data = smbServer.getConnectionData(connId, checkStatus=False)
        if status == STATUS_MORE_PROCESSING_REQUIRED:
            conn_data["Authenticated"] = False  # impacket sets it too early
            state.session_id = conn_data["Uid"]
            return commands, packets, status
        if status != STATUS_SUCCESS:
            return _fail(conn_data, status)
        if cfg.encryption == "required" and not conn_data.get("SignatureEnabled"):
            return _fail(conn_data, STATUS_ACCESS_DENIED)  # a guest cannot encrypt

        resp = commands[0]
        signed = conn_data.get("SignatureEnabled") and conn_data.get("SigningSessionKey")
        # We sign in the connection layer (AES-CMAC for 3.x); stop impacket's HMAC.
        conn_data["SignatureEnabled"] = False
        state.session_id = conn_data["Uid"]
        state.encrypt_data = False
        if signed:
            state.keys = crypto.derive_keys(conn_data["SigningSessionKey"], state.dialect, state.session_preauth)
            if cfg.encryption == "required":
                resp["SessionFlags"] = resp.fields.get("SessionFlags", 0) | SMB2_SESSION_FLAG_ENCRYPT_DATA
                state.encrypt_data = True
        return commands, packets, status

    return session_setup_handler


def _fail(conn_data: dict, status: int):
    conn_data["Authenticated"] = False
    conn_data["SignatureEnabled"] = False  # impacket enables it even for a wrong password
    get_state(conn_data).keys = None
    return error(status)
