"""The fuzzer's remembered secret search answers exactly as a full search would, call after call."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ibs.scenarios.secret_scan import SecretScanner

ALPHABET = b"ab\x00"
blobs = st.lists(st.binary(max_size=12).map(lambda b: bytes(ALPHABET[x % 3] for x in b)), max_size=5)
secrets = st.lists(st.binary(min_size=1, max_size=3).map(lambda b: bytes(ALPHABET[x % 3] for x in b)),
                   max_size=4)


@given(st.lists(st.tuples(blobs, secrets), min_size=1, max_size=8))
def test_same_answer_as_a_full_search_on_every_call(calls):
    scanner = SecretScanner()
    for data, secret_list in calls:
        expected = any(s in d for d in data for s in secret_list)
        assert scanner.leaks(data, secret_list) is expected


def test_a_secret_added_later_is_found_in_content_searched_before():
    scanner = SecretScanner()
    share = [b"manifest", b"chunk holding hunter2 by mistake"]
    assert not scanner.leaks(share, [b"password1"])
    assert scanner.leaks(share, [b"password1", b"hunter2"])


def test_a_leak_is_reported_again_until_it_is_gone():
    scanner = SecretScanner()
    assert scanner.leaks([b"xx hunter2"], [b"hunter2"])
    assert scanner.leaks([b"xx hunter2"], [b"hunter2"])
    assert not scanner.leaks([b"clean"], [b"hunter2"])


def test_forgets_content_that_is_gone():
    scanner = SecretScanner()
    scanner.leaks([b"old backup", b"kept"], [b"s"])
    scanner.leaks([b"kept"], [b"s"])
    assert len(scanner._searched) == 1  # noqa: SLF001
