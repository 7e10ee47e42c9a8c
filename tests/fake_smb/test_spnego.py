"""SPNEGO mechListMIC (MS-SPNG 3.3.5.1): parsing, and both directions on the wire."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smbprotocol.connection import Connection
from smbprotocol.exceptions import AccessDenied
from smbprotocol.session import Session

from ibs.fake_smb import spnego
from tests.fake_smb.conftest import PASSWORD, USER

MECH_TYPES = bytes.fromhex("300c060a2b06010401823702020a")
INIT = bytes.fromhex("6024" "06062b0601050502" "a01a" "3018" "a00e") + MECH_TYPES + bytes.fromhex("a2060404") + b"TOKN"


def _negotiate_login(server) -> Session:
    conn = Connection(uuid.uuid4(), server.host, server.port)
    conn.connect(timeout=5)
    session = Session(conn, USER, PASSWORD, auth_protocol="negotiate")  # SPNEGO around NTLM
    try:
        session.connect()
    finally:
        conn.disconnect(close=False)
    return session


def test_mech_types_are_taken_as_the_client_encoded_them():
    assert spnego.mech_types_der(INIT) == MECH_TYPES


def test_neg_token_resp_round_trips_its_mic():
    blob = spnego.neg_token_resp(spnego.ACCEPT_COMPLETED, response_token=b"x", mech_list_mic=b"m" * 16)
    assert spnego.resp_mech_list_mic(blob) == b"m" * 16
    assert spnego.resp_mech_list_mic(spnego.neg_token_resp(spnego.ACCEPT_COMPLETED)) is None


def test_long_tokens_use_long_form_lengths():
    blob = spnego.neg_token_resp(spnego.ACCEPT_INCOMPLETE, response_token=b"t" * 300, mech_list_mic=b"m" * 16)
    assert spnego.resp_mech_list_mic(blob) == b"m" * 16


@given(st.binary(max_size=80))
def test_parsers_raise_only_their_own_error(data):
    for parse in (spnego.mech_types_der, spnego.resp_mech_list_mic):
        try:
            parse(data)
        except spnego.SpnegoError:
            pass


@pytest.mark.parametrize("cut", range(1, len(INIT)))
def test_truncated_init_is_a_spnego_error(cut):
    with pytest.raises(spnego.SpnegoError):
        spnego.mech_types_der(INIT[:cut])


def test_spnego_client_verifies_the_servers_mic(server):
    # pyspnego sends a mechListMIC and checks the one in the final answer.
    assert _negotiate_login(server).session_id


def test_a_wrong_client_mic_is_refused(server, monkeypatch):
    real = spnego.ntlm_mic

    def expect_another(key, flags, message, *, from_server):
        mic = real(key, flags, message, from_server=from_server)
        return mic if from_server else bytes(16)

    monkeypatch.setattr(spnego, "ntlm_mic", expect_another)
    with pytest.raises(AccessDenied):
        _negotiate_login(server)
