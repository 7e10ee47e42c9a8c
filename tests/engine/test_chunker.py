"""The chunker cuts any sequence of writes into the stream docs/FORMAT.md describes.

Every chunk but the last is exactly chunk_size bytes, the last one (possibly empty) is the only
one flagged final, indexes count up from 0, and the chunks joined are the bytes written.
"""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.chunker import Chunker

pieces = st.lists(st.tuples(st.sampled_from(("write", "file", "put", "put file")),
                            st.binary(max_size=300), st.integers(0, 50)), max_size=12)


@given(st.integers(1, 64), pieces)
def test_chunks_join_to_the_stream_and_are_cut_at_chunk_size(size, script):
    buffers = []

    def acquire() -> bytearray:
        buffers.append(bytearray(b"\xaa" * size))  # a lent buffer holds old bytes
        return buffers[-1]

    chunker = Chunker(size, acquire)
    expected = bytearray()
    got = []

    def take(gen):
        while True:
            try:
                chunk = next(gen)
            except StopIteration as stop:
                return stop.value
            got.append((chunk.index, bytes(chunk.data), chunk.final))

    for how, data, shrink in script:
        if how in ("file", "put file"):  # a file that may have shrunk by `shrink` bytes: zero-padded
            readinto = io.BytesIO(data[: max(0, len(data) - shrink)]).readinto
            n = chunker.put_from(readinto, len(data)) if how == "put file" else None
            if n is None:
                n = take(chunker.fill_from(readinto, len(data)))
            assert n == max(0, len(data) - shrink)
            expected += data[: n] + bytes(len(data) - n)
        else:  # "put": the writer's way with small pieces, which ``write`` takes if they do not fit
            if how == "write" or not chunker.put(data):
                take(chunker.write(data))
            expected += data
    take(chunker.finish())
    assert b"".join(d for _i, d, _f in got) == bytes(expected)
    assert [i for i, _d, _f in got] == list(range(len(got)))
    assert [f for _i, _d, f in got] == [False] * (len(got) - 1) + [True]
    assert all(len(d) == size for _i, d, _f in got[:-1]) and 0 <= len(got[-1][1]) <= size
    assert chunker.total == len(expected)


def test_put_takes_exactly_what_fits_in_the_current_chunk():
    chunker = Chunker(8, lambda: bytearray(b"\xaa" * 8))
    assert chunker.put(b"abc")
    assert not chunker.put(b"123456")  # 3 + 6 > 8: nothing copied
    assert chunker.put_from(io.BytesIO(b"123456").readinto, 6) is None
    assert chunker.put_from(io.BytesIO(b"12").readinto, 5) == 2  # shrunk: zero-padded to 5
    assert not chunker.put(b"x") and chunker.put(b"")
    assert chunker.total == 8
    (chunk,) = chunker.finish()
    assert bytes(chunk.data) == b"abc12\0\0\0" and chunk.final
