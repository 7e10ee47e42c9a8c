"""The entry decoder's two ways to take events give the same events, and the same errors.

``next_events`` (a list of every event the bytes fed complete, what restore uses) against
``next_event`` (one at a time): valid streams, streams with bytes flipped, inserted, dropped or
cut short, each fed whole, byte by byte or in random pieces. Not just the same files in the end:
the same events in the same order, file contents split at the same places, the same error
after the same events.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine.entries import NEED_DATA, Entry, EntryDecoder, FileData, FileEnd, Kind, StreamEnd
from ibs.engine.errors import IntegrityError
from tests.fuzz.test_parsers import cuts, encode, entry_trees

PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _shown(event: object) -> object:
    # File contents are views of the piece fed: read them before the next feed.
    return ("data", bytes(event.data)) if isinstance(event, FileData) else event


def one_at_a_time(pieces: list[bytes]) -> tuple[list[object], str | None, tuple[int, int]]:
    """The events, the error that ended them (or None), and (entries, file bytes) counted."""
    dec = EntryDecoder()
    events: list[object] = []
    try:
        for piece in pieces:
            dec.feed(piece)
            while (event := dec.next_event()) is not NEED_DATA:
                events.append(_shown(event))
        dec.close()
    except IntegrityError as exc:
        return events, str(exc), (dec.entries, dec.file_bytes)
    return events, None, (dec.entries, dec.file_bytes)


def in_lists(pieces: list[bytes], drain: bool,
             every: int = 1) -> tuple[list[object], str | None, tuple[int, int]]:
    """The same through ``next_events``: once per piece fed (as the reader calls it), or until
    it returns an empty list (``drain``); after every ``every``-th piece only (the decoder
    keeps what was fed but not read, copied: the pieces here stay unchanged)."""
    dec = EntryDecoder()
    events: list[object] = []
    try:
        for i, piece in enumerate(pieces):
            dec.feed(piece)
            if (i + 1) % every and i + 1 < len(pieces):
                continue
            while batch := dec.next_events():
                events.extend(_shown(e) for e in batch)
                if not drain:
                    break
        dec.close()
    except IntegrityError as exc:
        return events, str(exc), (dec.entries, dec.file_bytes)
    return events, None, (dec.entries, dec.file_bytes)


@st.composite
def damaged(draw, stream: bytes) -> bytes:
    """``stream`` as is, or with a few bytes flipped, inserted, deleted or repeated, or cut."""
    data = bytearray(stream)
    how = draw(st.sampled_from(["as is", "edited", "cut"]))
    if how == "cut":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "edited":
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
            pos = draw(st.integers(0, len(data)))
            if op == "flip" and pos < len(data):
                data[pos] ^= draw(st.integers(1, 255))
            elif op == "insert":
                data[pos:pos] = draw(st.binary(min_size=1, max_size=30))
            elif op == "delete":
                del data[pos : pos + draw(st.integers(1, 30))]
            else:
                data[pos:pos] = data[pos : pos + draw(st.integers(1, 40))]
    return bytes(data)


@PROPERTY
@given(items=entry_trees(), data=st.data())
def test_lists_of_events_are_exactly_the_events_one_at_a_time(items, data) -> None:
    stream = data.draw(damaged(encode(items)))
    pieces = data.draw(cuts(stream))
    want = one_at_a_time(pieces)
    assert in_lists(pieces, drain=False) == want
    assert in_lists(pieces, drain=True) == want
    # Fed several pieces before taking events: the same events, though contents may come in
    # other splits; and the same error.
    joined = in_lists(pieces, drain=True, every=3)
    assert (_joined(joined[0]), joined[1:]) == (_joined(want[0]), want[1:])


def _joined(events: list[object]) -> list[object]:
    """File contents of one file joined: how the bytes of a file came in pieces aside."""
    out: list[object] = []
    for e in events:
        if isinstance(e, tuple) and out and isinstance(out[-1], tuple):
            out[-1] = ("data", out[-1][1] + e[1])
        else:
            out.append(e)
    return out


def test_an_error_comes_after_the_events_before_it() -> None:
    """A list ends before the bad record; the next call raises what is wrong with it."""
    bad = encode([(Entry(Kind.DIR, b"", 0o755, 1, 0), b""),
                  (Entry(Kind.FILE, b"a", 0o644, 2, 3), b"abc"),
                  (Entry(Kind.FILE, b"/b", 0o644, 3, 1), b"x")])
    dec = EntryDecoder()
    dec.feed(bad)
    first = dec.next_events()
    assert [_shown(e) for e in first] == [Entry(Kind.DIR, b"", 0o755, 1, 0),
                                         Entry(Kind.FILE, b"a", 0o644, 2, 3),
                                         ("data", b"abc"), FileEnd()]
    with pytest.raises(IntegrityError, match="is not relative"):
        dec.next_events()
    with pytest.raises(IntegrityError, match="is not relative"):
        dec.close()


def test_file_contents_are_views_of_the_piece_fed_not_copies() -> None:
    """Restore writes file contents straight from the decrypted chunk."""
    content = bytes(range(256)) * 64
    piece = bytearray(encode([(Entry(Kind.DIR, b"", 0o755, 1, 0), b""),
                              (Entry(Kind.FILE, b"f", 0o644, 2, len(content)), content)]))
    dec = EntryDecoder()
    dec.feed(piece)
    events = dec.next_events()
    data = next(e.data for e in events if isinstance(e, FileData))
    assert bytes(data) == content
    at = bytes(piece).index(content)
    piece[at] ^= 0xFF  # the caller's buffer changes: a view sees it
    assert data[0] == content[0] ^ 0xFF
    assert isinstance(events[-1], StreamEnd) and dec.file_bytes == len(content)
