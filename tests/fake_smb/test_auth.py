"""Logon: users and passwords (changeable live), anonymous, refuse-logons fault."""

from __future__ import annotations

import pytest
from smbprotocol.exceptions import AccessDenied, LogonFailure

from tests.fake_smb.conftest import USER


def test_valid_user_logs_on(clients):
    assert clients.login().tree.tree_connect_id


def test_wrong_password_is_logon_failure(clients):
    with pytest.raises(LogonFailure):
        clients.login(password="wrong")


def test_unknown_user_is_logon_failure(clients):
    with pytest.raises(LogonFailure):
        clients.login(user="mallory")


def test_user_name_is_case_insensitive(clients):
    assert clients.login(user=USER.upper()).session.session_id


def _impacket_anonymous(server, dialect):
    # smbprotocol (pyspnego) cannot send an anonymous NTLM logon; impacket's
    # client can.  It opens with SMB1 unless given a dialect.
    from impacket.smbconnection import SMBConnection

    conn = SMBConnection(server.host, server.host, sess_port=server.port, preferredDialect=dialect)
    try:
        conn.login("", "")
        return [f.get_longname() for f in conn.listPath(server.share_name, "*")]
    finally:
        conn.close()


@pytest.mark.parametrize("dialect", [0x0210, 0x0300])
def test_anonymous_is_refused_by_default(server, dialect):
    from impacket.smbconnection import SessionError

    with pytest.raises(SessionError, match="STATUS_ACCESS_DENIED"):
        _impacket_anonymous(server, dialect)


def test_anonymous_when_allowed(server, share):
    (share / "visible.txt").write_text("x")
    server.allow_anonymous = True
    assert "visible.txt" in _impacket_anonymous(server, 0x0210)


def test_password_change_while_running(server, clients):
    clients.login()  # an existing session
    server.set_user(USER, "new-password")
    with pytest.raises(LogonFailure):
        clients.login()
    assert clients.login(password="new-password").session.session_id


def test_added_and_removed_users(server, clients):
    server.set_user("bob", "bobpw")
    assert clients.login(user="bob", password="bobpw").session.session_id
    server.remove_user("bob")
    with pytest.raises(LogonFailure):
        clients.login(user="bob", password="bobpw")


def test_removing_every_user_does_not_open_the_door(server, clients):
    # impacket lets anybody in as guest once it has no credentials at all.
    server.remove_user(USER)
    with pytest.raises(LogonFailure):
        clients.login()


def test_refuse_logons_fault(server, clients):
    server.faults.refuse_logons = True
    with pytest.raises(LogonFailure):
        clients.login()
    server.faults.refuse_logons = False
    assert clients.login().session.session_id


def test_failed_logon_does_not_authenticate_the_connection(server, clients):
    # impacket marks the connection authenticated even after a failed logon;
    # a tree connect on it must still be refused.
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    conn = clients.connect()
    session = Session(conn, USER, "wrong", require_encryption=False, auth_protocol="ntlm")
    with pytest.raises(LogonFailure):
        session.connect()
    session.session_id = session.session_id or 1
    session._connected = True
    conn.session_table[session.session_id] = session
    session.signing_required = False
    with pytest.raises(AccessDenied):
        TreeConnect(session, clients.server.unc).connect()
