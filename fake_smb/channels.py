"""Multichannel: a session carried over more than one connection (MS-SMB2 3.3.5.5.2).

impacket knows one session per connection, kept in that connection's dict (its connData).
A channel binds a session to one more connection: SESSION_SETUP with
SMB2_SESSION_FLAG_BINDING, signed with the session's key, authenticated anew.  Here a
channel is one more connData, registered with impacket under an id of its own, whose
'OpenedFiles' and 'ConnectedShares' are the very dicts of the session's first connection:
every handler then finds the session's opens and trees whichever connection a request came
on, and the connection layer only has to send a request to the right connData (``route``)
and sign or seal the answer with the right keys (``state_for``).

A channel has a ConnState of its own: its connection's negotiation, the session's id and
cipher keys, and a signing key of its own once bound (Channel.SigningKey: derived from the
bind's authentication, 3.1.1 with the channel's pre-authentication hash, and used with the
channel connection's signing algorithm, as smbd does).  Until the bind completes, the
channel signs with the session's key, which is what the client checks the interim answers
with.

A connection carries its own session, further sessions, and any number of bound channels.
When a connection ends, its channels go, and a session it set up lives on while it has a
channel elsewhere; when a session ends (LOGOFF or failed reauthentication on any of its
channels), it ends on every channel.
"""

from __future__ import annotations

import dataclasses
import struct
import threading
from dataclasses import dataclass

from ibs.fake_smb import crypto, release, sessions
from ibs.fake_smb.state import STATE_KEY, ConnState, get_state

SMB2_SESSION_SETUP = 0x0001
BINDING_KEY = "FakeSmbBinding"  # in a channel's connData while its bind authenticates
CHANNEL_KEY = "FakeSmbChannel"  # in a channel's connData: the connection it runs on
OWN_SESSION_KEY = "FakeSmbOwnSession"  # in the connData of a further session's first channel
_SHARED = ("OpenedFiles", "ConnectedShares")  # the session's, whatever the connection


@dataclass
class Channel:
    channel_id: str  # its connData's id with impacket
    conn_id: str  # the connection it runs on
    session_id: int
    home_conn_id: str  # the session's first connection


class ChannelTable:
    """Every bound (or binding) channel of the server, by connection and session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, int], Channel] = {}

    def get(self, conn_id: str, session_id: int) -> Channel | None:
        with self._lock:
            return self._channels.get((conn_id, session_id))

    def add(self, channel: Channel) -> None:
        with self._lock:
            self._channels[(channel.conn_id, channel.session_id)] = channel

    def pop(self, conn_id: str, session_id: int) -> Channel | None:
        with self._lock:
            return self._channels.pop((conn_id, session_id), None)

    def matching(self, conn_id: str | None = None, session_id: int | None = None) -> list[Channel]:
        with self._lock:
            return [c for c in self._channels.values()
                    if (conn_id is None or c.conn_id == conn_id) and (session_id is None or c.session_id == session_id)]


def _session_id(message: bytes | bytearray) -> int:
    return struct.unpack_from("<Q", message, 40)[0]


def route(server, conn_id: str, message: bytes) -> str:
    """The connData id that handles this request: its session's channel on this connection,
    else the connection's own."""
    channel = server.channel_table.get(conn_id, _session_id(message))
    return channel.channel_id if channel is not None else conn_id


def state_for(server, conn_id: str, session_id: int, own: ConnState) -> ConnState:
    """The ConnState whose keys protect traffic of session_id on this connection."""
    if session_id == own.session_id:
        return own
    channel = server.channel_table.get(conn_id, session_id)
    if channel is None:
        return own
    try:
        return get_state(server.getConnectionData(channel.channel_id, checkStatus=False))
    except KeyError:
        return own


def decrypting_state(server, conn_id: str, session_id: int, own: ConnState) -> ConnState | None:
    """The ConnState to open a transform naming session_id with: any live session's, as
    smbd opens it before it finds the session has no channel here; None for no session."""
    if session_id == own.session_id:
        return own
    record = server.session_table.get(session_id)
    return record.conn() if record is not None else None


def for_request(server, conn_id: str, message: bytes, own: ConnState) -> ConnState:
    """The ConnState a request is checked and answered with; a signed bind that passes every
    check (sessions.bind_refusal) gets its channel here, before it is looked at further."""
    session_id = _session_id(message)
    state = state_for(server, conn_id, session_id, own)
    if state is own and session_id != own.session_id and _is_bind(message):
        state = _begin_bind(server, conn_id, message, own) or own
    elif state is own and session_id == 0 and own.keys is not None and _is_session_setup(message):
        state = _begin_session(server, conn_id, own)
    return state


def is_bound_channel(server, conn_id: str, message: bytes) -> bool:
    """Whether the request names a session bound here as a further channel: smbd refuses such
    a request unless it is signed or sealed (a bound session is a signing one)."""
    channel = server.channel_table.get(conn_id, _session_id(message))
    if channel is None:
        return False
    try:
        return not server.getConnectionData(channel.channel_id, checkStatus=False).get(OWN_SESSION_KEY)
    except KeyError:
        return False


def _is_session_setup(message: bytes) -> bool:
    return struct.unpack_from("<H", message, 12)[0] == SMB2_SESSION_SETUP


def _is_bind(message: bytes) -> bool:
    return (_is_session_setup(message) and len(message) >= 64 + 3
            and bool(message[64 + 2] & sessions.SMB2_SESSION_FLAG_BINDING))


def _channel_data(conn_data: dict, session_id: int, state: ConnState, conn_id: str) -> dict:
    """A connData for one more session on this connection, its opens and trees not yet set."""
    return {
        "PacketNum": 0, "ClientIP": conn_data.get("ClientIP"), "ClientPort": conn_data.get("ClientPort"),
        "Uid": session_id, "SIDs": {}, "LastRequest": {}, "SignatureEnabled": False,
        "SigningChallengeResponse": "", "SigningSessionKey": b"", "Authenticated": False,
        "PushMessage": conn_data.get("PushMessage"), STATE_KEY: state, CHANNEL_KEY: conn_id,
    }


def _begin_session(server, conn_id: str, own: ConnState) -> ConnState:
    """A new session on a connection that has one already (smbd keeps both): it logs on in a
    connData of its own, with opens and trees of its own, keyed by SessionId 0 until the
    first answer gives it one (``settle``)."""
    state = dataclasses.replace(
        own, session_id=0, keys=None, encrypt_data=False, session_preauth=own.preauth, mech_types=b"",
        after_reply=None, request_signed=False, bytes_moved=0,
    )
    conn_data = _channel_data(server.getConnectionData(conn_id, checkStatus=False), 0, state, conn_id)
    conn_data.update({"OpenedFiles": {}, "ConnectedShares": {}, OWN_SESSION_KEY: True})
    channel_id = f"{conn_id}+new{id(conn_data):x}"
    server.setConnectionData(channel_id, conn_data)
    drop(server, conn_id, 0)  # an earlier logon that never got its SessionId
    server.channel_table.add(Channel(channel_id, conn_id, 0, channel_id))
    return state


def settle(server, conn_data: dict) -> None:
    """A further session's first answer names its SessionId: file the channel under it."""
    conn_id, session_id = conn_data.get(CHANNEL_KEY), conn_data["Uid"]
    if conn_id is None or not conn_data.get(OWN_SESSION_KEY):
        return
    channel = server.channel_table.pop(conn_id, 0)
    if channel is not None:
        channel.session_id = session_id
        server.channel_table.add(channel)


def _begin_bind(server, conn_id: str, message: bytes, own: ConnState) -> ConnState | None:
    session_id = _session_id(message)
    record = server.session_table.get(session_id)
    home = record.conn() if record is not None else None
    if home is None or home.keys is None:
        return None
    if sessions.bind_refusal(server.session_table, own, message) != sessions.STATUS_SUCCESS:
        return None
    channel = Channel(f"{conn_id}+{session_id:x}", conn_id, session_id, record.conn_id)
    try:
        home_data = server.getConnectionData(record.conn_id, checkStatus=False)
    except KeyError:
        return None
    state = dataclasses.replace(
        own, session_id=session_id, keys=record.keys, encrypt_data=home.encrypt_data, session_preauth=own.preauth,
        mech_types=b"", after_reply=None, request_signed=False, bytes_moved=0,
    )
    channel_data = _channel_data(server.getConnectionData(conn_id, checkStatus=False), session_id, state, conn_id)
    channel_data[BINDING_KEY] = record.user
    for key in _SHARED:
        channel_data[key] = home_data[key]
    server.setConnectionData(channel.channel_id, channel_data)
    server.channel_table.add(channel)
    return state


def binding_user(conn_data: dict) -> str | None:
    """The session's user while this connData is a channel whose bind is authenticating."""
    return conn_data.get(BINDING_KEY)


def complete_bind(conn_data: dict, session_key: bytes) -> None:
    """The bind authenticated: the channel signs with a key of its own from now on."""
    state = get_state(conn_data)
    derived = crypto.derive_keys(session_key, state.dialect, state.session_preauth, state.cipher_id,
                                 state.sign_algo)
    state.keys = dataclasses.replace(state.keys, signing=derived.signing, sign_algo=state.sign_algo)
    del conn_data[BINDING_KEY]


def drop(server, conn_id: str, session_id: int) -> None:
    """Forget one channel (a bind that failed, a connection that ended): not the session."""
    channel = server.channel_table.pop(conn_id, session_id)
    if channel is not None:
        server.removeConnection(channel.channel_id)


def drop_after_reply(server, conn_data: dict, bound_only: bool = False) -> None:
    """Forget the channel once the answer now being built (signed with its key) is sent;
    with bound_only, only a channel bound to a session of another connection."""
    state = get_state(conn_data)
    conn_id = conn_data.get(CHANNEL_KEY)
    if conn_id is not None and not (bound_only and conn_data.get(OWN_SESSION_KEY)):
        session_id = state.session_id
        state.after_reply = lambda: drop(server, conn_id, session_id)


def unbind_session(server, session_id: int, ending: dict) -> list[dict]:
    """The session ends: every channel of it goes.  The connData of its other connections
    (channels, and its first connection's unless that is ``ending``), for the caller to
    forget the session in."""
    others: list[dict] = []
    for channel in server.channel_table.matching(session_id=session_id):
        server.channel_table.pop(channel.conn_id, session_id)
        try:
            channel_data = server.getConnectionData(channel.channel_id, checkStatus=False)
        except KeyError:
            continue
        server.removeConnection(channel.channel_id)
        if channel_data is not ending:
            others.append(channel_data)
        try:
            home_data = server.getConnectionData(channel.home_conn_id, checkStatus=False)
        except KeyError:
            continue
        if home_data is not ending and home_data.get("Uid") == session_id and all(d is not home_data for d in others):
            others.append(home_data)
    return others


def connection_closed(server, conn_id: str, conn_data: dict) -> None:
    """A connection ended, however (MS-SMB2 3.3.7.1): its channels go.  A session it carried
    lives on while a channel of it remains on another connection, as in smbd; else it ends,
    its opens and trees with it."""
    for channel in server.channel_table.matching(conn_id=conn_id):
        try:
            channel_data = server.getConnectionData(channel.channel_id, checkStatus=False)
        except KeyError:
            continue
        drop(server, conn_id, channel.session_id)
        if channel.home_conn_id == channel.channel_id:  # it carried its session
            _end_or_carry_on(server, channel.session_id, channel_data)
    _end_or_carry_on(server, get_state(conn_data).session_id, conn_data)


def _end_or_carry_on(server, session_id: int, conn_data: dict) -> None:
    bound = server.channel_table.matching(session_id=session_id) if session_id else []
    for heir in bound:
        try:
            heir_data = server.getConnectionData(heir.channel_id, checkStatus=False)
        except KeyError:
            continue
        server.session_table.carry_on(session_id, get_state(heir_data), heir.channel_id)
        for channel in bound:
            channel.home_conn_id = heir.channel_id
        return
    release.release_connection(conn_data, server.log)
    if session_id:
        server.session_table.remove(session_id)
