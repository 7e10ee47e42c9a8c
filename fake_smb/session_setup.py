"""SMB2 SESSION_SETUP around impacket's NTLM acceptor (MS-SMB2 3.3.5.5).

impacket verifies the NTLMv2 response and yields the session key; this
wrapper adds what it lacks: unknown users and (unless allowed) anonymous
logons are refused instead of being let in as guest, a failed logon no longer
marks the connection authenticated, the refuse-logons fault, the encryption
policy, the SMB 3 key derivation, and what a client that insists on signing
or sealing checks: the CHALLENGE echoes its SIGN/SEAL flags and the SPNEGO
exchange ends with a mechListMIC both ways (MS-NLMP 3.2.5.1.1, MS-SPNG 3.3.5.1).
It also keeps a session across reauthentication (impacket would draw a new
SessionId), ends it when reauthentication fails, refuses an NTLMv2 response
that does not parse, and authenticates binds (sessions.py checks them, channels.py
keeps the channel).
"""

from __future__ import annotations

import hmac
import struct

from impacket import ntlm
from impacket import smb3structs as smb2
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_INVALID_PARAMETER,
    STATUS_LOGON_FAILURE,
    STATUS_MORE_PROCESSING_REQUIRED,
    STATUS_REQUEST_NOT_ACCEPTED,
    STATUS_SUCCESS,
    STATUS_USER_SESSION_DELETED,
)
from impacket.spnego import ASN1_AID, ASN1_SUPPORTED_MECH, SPNEGO_NegTokenInit, SPNEGO_NegTokenResp

from ibs.fake_smb import channels, crypto, session_end, sessions, spnego
from ibs.fake_smb.handler_util import RawBody, error
from ibs.fake_smb.state import get_state

SMB2_SESSION_FLAG_IS_GUEST = 0x0001
SMB2_SESSION_FLAG_IS_NULL = 0x0002
SMB2_SESSION_FLAG_ENCRYPT_DATA = 0x0004
NTLM_NEGOTIATE = 1
NTLM_AUTHENTICATE = 3
# NTLMv2_RESPONSE (MS-NLMP 2.2.2.8): NTProofStr, then the NTLMv2_CLIENT_CHALLENGE's
# 28 fixed bytes, then its AvPairs.
_NTLMV2_AV_PAIRS = 16 + 28
_MSV_AV_EOL = 0
# Client flags the CHALLENGE must echo when the client sets them (MS-NLMP
# 3.2.5.1.1).  impacket drops SEAL and ALWAYS_SIGN; a client that needs
# sealing then sees a downgrade and gives up.
_ECHOED_FLAGS = ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL | ntlm.NTLMSSP_NEGOTIATE_ALWAYS_SIGN


def _is_spnego(blob: bytes) -> bool:
    return bool(blob) and blob[0] in (ASN1_AID, ASN1_SUPPORTED_MECH)


def _ntlm_token(blob: bytes) -> bytes:
    if not blob:
        return b""
    if blob[0] == ASN1_AID:
        return SPNEGO_NegTokenInit(blob)["MechToken"]
    if blob[0] == ASN1_SUPPORTED_MECH:
        return SPNEGO_NegTokenResp(blob)["ResponseToken"]
    return blob


def _ntlm_type(token: bytes) -> int | None:
    if not token.startswith(b"NTLMSSP\x00") or len(token) < 12:
        return None
    return struct.unpack_from("<I", token, 8)[0]


def _authenticate_message(token: bytes) -> ntlm.NTLMAuthChallengeResponse | None:
    """The NTLM AUTHENTICATE_MESSAGE in token, None for other messages."""
    if _ntlm_type(token) != NTLM_AUTHENTICATE:
        return None
    msg = ntlm.NTLMAuthChallengeResponse()
    msg.fromString(token)
    return msg


def _ntlmv2_malformed(nt_response: bytes) -> bool:
    """Whether an NTLMv2 response does not parse: its AvPairs run past the
    response or never reach MsvAvEOL.  Samba answers such a logon
    INVALID_PARAMETER rather than checking it as a password (its bug 14932, a
    diagnostic tool's blob); an NTLMv1 response (24 bytes) is not NTLMv2."""
    if len(nt_response) <= 24:
        return False
    pos = _NTLMV2_AV_PAIRS
    while pos + 4 <= len(nt_response):
        av_id, av_len = struct.unpack_from("<HH", nt_response, pos)
        pos += 4 + av_len
        if pos > len(nt_response):
            return True
        if av_id == _MSV_AV_EOL:
            return False
    return True


def _set_security_buffer(resp, buffer: bytes) -> None:
    resp["SecurityBufferLength"] = len(buffer)
    resp["Buffer"] = buffer


def _echo_client_flags(conn_data: dict, resp, wrap: bool) -> None:
    """Rewrite impacket's CHALLENGE so it echoes the client's SIGN/SEAL flags."""
    challenge = conn_data["CHALLENGE_MESSAGE"]
    challenge["flags"] |= conn_data["NEGOTIATE_MESSAGE"]["flags"] & _ECHOED_FLAGS
    token = challenge.getData()
    if wrap:
        token = spnego.neg_token_resp(spnego.ACCEPT_INCOMPLETE, response_token=token,
                                      supported_mech=spnego.NTLMSSP_OID)
    _set_security_buffer(resp, token)


def _mech_list_mic(conn_data: dict, state, auth, blob: bytes) -> bytes | None | bool:
    """Check the client's mechListMIC and return the server's (MS-SPNG 3.3.5.1).

    None when the client sent none (an older client, or raw NTLMSSP): there is
    nothing to answer.  False when it does not verify.
    """
    if not _is_spnego(blob):
        return None
    try:
        client_mic = spnego.resp_mech_list_mic(blob)
    except spnego.SpnegoError:
        return False
    if client_mic is None:
        return None
    key, flags = conn_data["SigningSessionKey"], auth["flags"]
    expected = spnego.ntlm_mic(key, flags, state.mech_types, from_server=False)
    if not hmac.compare_digest(client_mic, expected):
        return False
    return spnego.ntlm_mic(key, flags, state.mech_types, from_server=True)


def make_session_setup_handler(original):
    def session_setup_handler(connId, smbServer, recvPacket):
        conn_data = smbServer.getConnectionData(connId, checkStatus=False)
        cfg = smbServer.fake_config
        state = get_state(conn_data)
        req = smb2.SMB2SessionSetup(recvPacket["Data"])
        session_id = recvPacket["SessionID"]
        table = smbServer.session_table
        signed = state.request_signed
        binding_user = channels.binding_user(conn_data)  # None unless a bind authenticates here
        if req["Flags"] & sessions.SMB2_SESSION_FLAG_BINDING and binding_user is None:
            status = sessions.bind_refusal(table, state, conn_data.pop(sessions.SESSION_SETUP_KEY, b"\x00" * 64))
            if status == STATUS_SUCCESS:  # bound here already (smbd: REQUEST_NOT_ACCEPTED)
                status = STATUS_REQUEST_NOT_ACCEPTED
            # smbd unbinds a channel whose bind fails, whatever the reason: bind again to use it.
            channels.drop_after_reply(smbServer, conn_data, bound_only=True)
            return None, [RawBody(sessions.refusal(table, recvPacket.getData(), status, signed))], status
        if session_id not in (0, state.session_id):  # not a session of this connection
            answer = sessions.refusal(table, recvPacket.getData(), STATUS_USER_SESSION_DELETED, signed)
            return None, [RawBody(answer)], STATUS_USER_SESSION_DELETED
        # Naming the connection's live session re-authenticates it (MS-SMB2 3.3.5.5.2):
        # its keys, encryption and opens stay as they are.
        reauth = session_id != 0 and state.keys is not None and binding_user is None

        def fail(status: int):
            conn_data["Authenticated"] = False
            conn_data["SignatureEnabled"] = False  # impacket enables it even for a wrong password
            if binding_user is not None:
                channels.drop_after_reply(smbServer, conn_data)  # the answer is signed with its key
            elif reauth:
                # smbd ends a session whose reauthentication fails, after protecting this
                # answer with the session's keys one last time.
                conn_data["Uid"] = session_id
                session_end.end_after_reply(smbServer, conn_data)
            else:
                state.keys = None
                channels.drop_after_reply(smbServer, conn_data)  # a further session's logon
            return error(status)

        # A 3.x session that must be encrypted cannot be set up on a
        # connection that cannot encrypt (MS-SMB2 3.3.5.5, RejectUnencryptedAccess).
        if cfg.encryption == "required" and not state.can_encrypt:
            return fail(STATUS_ACCESS_DENIED)
        blob = req["Buffer"]
        token = _ntlm_token(blob)
        if blob[:1] == bytes((ASN1_AID,)):
            try:
                state.mech_types = spnego.mech_types_der(blob)
            except spnego.SpnegoError:
                state.mech_types = b""
        auth = _authenticate_message(token)
        user = auth["user_name"].decode("utf-16le") if auth is not None else None
        if user is not None:
            if cfg.faults.refuse_logons:
                return fail(STATUS_LOGON_FAILURE)
            if user == "":
                if not cfg.allow_anonymous or cfg.encryption == "required":
                    return fail(STATUS_ACCESS_DENIED)
            elif user.lower() not in smbServer.getCredentials():
                return fail(STATUS_LOGON_FAILURE)
            elif _ntlmv2_malformed(auth["ntlm"]):
                return fail(STATUS_INVALID_PARAMETER)

        commands, packets, status = original(connId, smbServer, recvPacket)
        conn_data = smbServer.getConnectionData(connId, checkStatus=False)
        if reauth or binding_user is not None:
            conn_data["Uid"] = session_id  # impacket draws a new one for every NTLM exchange
        if status == STATUS_MORE_PROCESSING_REQUIRED:
            # impacket sets it too early; a re-authenticating session stays usable meanwhile.
            conn_data["Authenticated"] = reauth
            state.session_id = conn_data["Uid"]
            channels.settle(smbServer, conn_data)  # a further session on this connection
            if _ntlm_type(token) == NTLM_NEGOTIATE and "CHALLENGE_MESSAGE" in conn_data:
                _echo_client_flags(conn_data, commands[0], _is_spnego(blob))
            return commands, packets, status
        if status != STATUS_SUCCESS:
            return fail(status)
        if cfg.encryption == "required" and not conn_data.get("SignatureEnabled"):
            return fail(STATUS_ACCESS_DENIED)  # a guest cannot encrypt
        if binding_user is not None and (user or "").lower() != binding_user:
            return fail(STATUS_ACCESS_DENIED)  # a channel is the session's user's (smbd)

        resp = commands[0]
        signed = conn_data.get("SignatureEnabled") and conn_data.get("SigningSessionKey")
        if signed and auth is not None:
            server_mic = _mech_list_mic(conn_data, state, auth, blob)
            if server_mic is False:
                return fail(STATUS_ACCESS_DENIED)
            if server_mic is not None:
                _set_security_buffer(resp, spnego.neg_token_resp(spnego.ACCEPT_COMPLETED, mech_list_mic=server_mic))
        # We sign in the connection layer (signing.py); stop impacket's HMAC.
        conn_data["SignatureEnabled"] = False
        if binding_user is not None:
            if not signed:
                return fail(STATUS_ACCESS_DENIED)
            channels.complete_bind(conn_data, conn_data["SigningSessionKey"])
            return commands, packets, status  # smbd answers a bind with no session flags
        if reauth:
            return commands, packets, status  # smbd answers a reauthentication with no session flags
        state.session_id = conn_data["Uid"]
        state.encrypt_data = False
        if signed:
            state.keys = crypto.derive_keys(
                conn_data["SigningSessionKey"], state.dialect, state.session_preauth, state.cipher_id,
                state.sign_algo,
            )
            smbServer.session_table.add(state.session_id, state, connId, user or "")
            # Samba's "desired" encrypts every session that can be: SMB 3.x with a
            # cipher in common (smbd_smb2_auth_generic_return). Like "required",
            # such a session then refuses unencrypted requests (checked against
            # smbd with smbprotocol). 2.x clients, and clients without a common
            # cipher, get a plain session.
            if cfg.encryption == "required" or (cfg.encryption == "desired" and state.can_encrypt):
                resp["SessionFlags"] = resp.fields.get("SessionFlags", 0) | SMB2_SESSION_FLAG_ENCRYPT_DATA
                state.encrypt_data = True
        return commands, packets, status

    return session_setup_handler
