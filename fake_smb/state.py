"""Per-connection SMB 3 state that impacket's connection data has no room for.

It lives in impacket's per-connection dict under the key ``STATE_KEY`` so the
hooked command handlers and the connection loop share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ibs.fake_smb.crypto import SessionKeys

STATE_KEY = "FakeSmbState"


@dataclass
class ConnState:
    # Negotiated in SMB2 NEGOTIATE (MS-SMB2 3.3.5.4).
    dialect: int = 0
    cipher_id: int = 0  # 0: this connection cannot encrypt
    sign_algo: int = 0  # Connection.SigningAlgorithmId (signing.py)
    server_caps: int = 0
    security_mode: int = 0
    server_guid: bytes = b"\x00" * 16
    # Connection.PreauthIntegrityHashValue (3.1.1 only).
    preauth: bytes = b"\x00" * 64
    # Session state; impacket keeps one session per connection, so do we.
    session_preauth: bytes = b"\x00" * 64
    session_id: int = 0
    # DER of the client's SPNEGO mechTypes: what the mechListMIC covers (MS-SPNG 3.3.5.1).
    mech_types: bytes = b""
    keys: SessionKeys | None = None
    encrypt_data: bool = False  # Session.EncryptData: unencrypted requests are refused
    bytes_moved: int = 0  # in + out, for the stall fault
    # Run once the response being built is signed/sealed: a session ending on this
    # request (LOGOFF, failed reauth) still protects its last response (session_end.py).
    after_reply: Callable[[], None] | None = None
    # Whether the request being handled came signed: impacket's dispatcher "signs" every
    # request it parses, so a handler cannot tell from the packet it is given.
    request_signed: bool = False

    @property
    def can_encrypt(self) -> bool:
        return self.cipher_id != 0


def get_state(conn_data: dict) -> ConnState:
    state = conn_data.get(STATE_KEY)
    if state is None:
        state = conn_data[STATE_KEY] = ConnState()
    return state
