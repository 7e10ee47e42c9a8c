"""Property: any chain of related and unrelated requests gets one response per request, in
order, and leaves the connection serving.

The chains mix real and all-0xFF FileIds, foreign sessions, unknown commands and bodies of
random bytes, in any related/unrelated order; none of them may crash the connection, hang
it, drop a response or answer out of order.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fake_smb.test_compound import (
    ALL_FF,
    CLOSE,
    CREATE,
    ECHO,
    FLUSH,
    QUERY_INFO,
    READ,
    WRITE,
    Req,
    Wire,
    close_body,
    create_body,
    echo_body,
    flush_body,
    query_info_body,
    read_body,
    write_body,
)

_NAMES = ["a.dat", "b.dat", "dir\\missing.dat", ""]
_STRUCTURE_SIZE = {CREATE: 57, CLOSE: 24, FLUSH: 24, QUERY_INFO: 41, ECHO: 4}


@st.composite
def requests(draw, known_fids: list[bytes]) -> Req:
    fid = draw(st.sampled_from(["related", "known", "random"]))
    fid = {"related": ALL_FF, "random": draw(st.binary(min_size=16, max_size=16)),
           "known": known_fids[-1] if known_fids else ALL_FF}[fid]
    kind = draw(st.sampled_from(["create", "close", "flush", "read", "write", "query", "echo",
                                 "unknown", "garbage"]))
    if kind == "create":
        command, body = CREATE, create_body(draw(st.sampled_from(_NAMES)), draw(st.sampled_from([1, 3])))
    elif kind == "close":
        command, body = CLOSE, close_body(fid)
    elif kind == "flush":
        command, body = FLUSH, flush_body(fid)
    elif kind == "read":
        command, body = READ, read_body(draw(st.integers(0, 64)), fid, draw(st.integers(0, 64)))
    elif kind == "write":
        command, body = WRITE, write_body(draw(st.binary(max_size=64)), fid, draw(st.integers(0, 64)))
    elif kind == "query":
        command, body = QUERY_INFO, query_info_body(fid)
    elif kind == "echo":
        command, body = ECHO, echo_body()
    elif kind == "unknown":
        command, body = draw(st.integers(0x13, 0xFFFF)), echo_body()
    else:  # a known command's StructureSize followed by random bytes
        command = draw(st.sampled_from(sorted(_STRUCTURE_SIZE)))
        size = _STRUCTURE_SIZE[command]
        body = struct.pack("<H", size) + draw(st.binary(min_size=size - 2, max_size=size + 30))
    foreign = draw(st.booleans()) and draw(st.booleans())  # a quarter of them
    return Req(command, body, related=draw(st.booleans()),
               session_id=0xDEAD if foreign else None)


# No shrinking: a hang costs the whole timeout per attempt, and an 8-request chain reads fine as it is.
@settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_request_of_any_chain_gets_one_response_in_order(server, data):
    wire = Wire(server, timeout=5)  # answers take milliseconds; a missing one must not stall the search
    try:
        known: list[bytes] = []
        for _ in range(3):
            chain = data.draw(st.lists(requests(known), min_size=1, max_size=8))
            replies = wire.chain(chain)  # asserts one response per request, in message-id order
            assert [r.command for r in replies] == [req.command for req in chain]
            known += [r.fid for r, req in zip(replies, chain) if req.command == CREATE and r.status == 0]
        assert wire.chain([Req(ECHO, echo_body())])[0].status == 0
    finally:
        wire.close()
