"""The chunker cuts any sequence of writes into the stream docs/FORMAT.md describes.

Every chunk but the last is exactly chunk_size bytes, the last one (possibly empty) is the only
one flagged final, indexes count up from 0, and the chunks joined are the bytes written.
"""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.chunker import Chunker

pieces = st.lists(st.tuples(st.sampled_from(("write", "file", "put")), st.binary(max_size=300),
                            st.integers(0, 50)), max_size=12)


@given(st.integers(1, 64), pieces)
def test_chunks_join_to_the_stream_and_are_cut_at_chunk_size(size, script):
    buffers = []

    def acquire() -> bytearray:
        buffers.append(bytearray(size))
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
        if how == "file":  # a file that may have shrunk by `shrink` bytes: padded with zeros
            n = take(chunker.fill_from(io.BytesIO(data[: max(0, len(data) - shrink)]).readinto,
                                       len(data)))
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
