"""The end of a session: LOGOFF, or a reauthentication that failed (MS-SMB2 3.3.5.6, 3.3.5.5.3).

A session ends only after its last response is sent, because that response is still signed or
sealed with the session's keys; smbd, too, holds the session until that answer is out. It then
ends on every channel that carries it (channels.py), and the server-wide table forgets it
(sessions.py), so requests naming it are refused from now on.
"""

from __future__ import annotations

from impacket.nt_errors import STATUS_SUCCESS

from ibs.fake_smb import channels, release
from ibs.fake_smb.state import get_state


def end_session(smb_server, conn_data: dict) -> None:
    """The connection's session is over: its opens and trees go, its keys are forgotten,
    and requests naming it are refused from now on, on each of its channels."""
    state = get_state(conn_data)
    release.release_connection(conn_data, smb_server.log)
    smb_server.session_table.remove(state.session_id)
    for other in channels.unbind_session(smb_server, state.session_id, conn_data):
        forget_session(other)
    forget_session(conn_data)


def forget_session(conn_data: dict) -> None:
    """This connData no longer carries a session."""
    state = get_state(conn_data)
    conn_data["Uid"] = 0
    conn_data["Authenticated"] = False
    conn_data["SignatureEnabled"] = False
    state.session_id = 0
    state.keys = None
    state.encrypt_data = False


def end_after_reply(smb_server, conn_data: dict) -> None:
    """End the session once the response now being built is signed (or sealed) and sent."""
    get_state(conn_data).after_reply = lambda: end_session(smb_server, conn_data)


def make_logoff_handler(original):
    def logoff(connId, smbServer, recvPacket):
        conn_data = smbServer.getConnectionData(connId)
        session_id = conn_data["Uid"]
        commands, packets, status = original(connId, smbServer, recvPacket)
        if status == STATUS_SUCCESS and session_id and recvPacket["SessionID"] == session_id:
            # impacket zeroes the Uid at once; the response still names the session and
            # is signed with its key (MS-SMB2 3.3.5.6), so the end waits for it.
            conn_data["Uid"] = session_id
            end_after_reply(smbServer, conn_data)
        return commands, packets, status

    return logoff
