"""The data key's wrapping and the subkeys derived from it (docs/FORMAT.md, Keys)."""

from __future__ import annotations

import hmac
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine import certs, keys
from ibs.engine.errors import IntegrityError

BACKUP = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")


@pytest.fixture(scope="module")
def cert(cert_pair) -> certs.Certificate:
    return certs.load_certificate(cert_pair.cer)


def test_a_wrapped_key_unwraps_only_for_its_own_backup(cert, cert_pair):
    data_key = keys.new_data_key()
    wrapped = keys.wrap(cert, data_key, BACKUP)
    assert keys.unwrap(cert_pair.key, wrapped, BACKUP) == data_key
    with pytest.raises(IntegrityError, match="does not decrypt with this PFX"):
        keys.unwrap(cert_pair.key, wrapped, uuid.UUID(int=BACKUP.int ^ 1))


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_wrapped_key_of_the_wrong_length_is_refused(cert, cert_pair, length):
    # Only a holder of the certificate can make one, but the reader must not trust its length.
    wrapped = keys.wrap(cert, bytes(range(length)), BACKUP)
    with pytest.raises(IntegrityError, match="wrong length"):
        keys.unwrap(cert_pair.key, wrapped, BACKUP)


def test_fresh_data_keys_are_32_bytes_and_never_repeat():
    drawn = {keys.new_data_key() for _ in range(64)}
    assert len(drawn) == 64 and {len(k) for k in drawn} == {keys.DATA_KEY_BYTES} == {32}


@settings(max_examples=50)
@given(key=st.binary(min_size=32, max_size=32), a=st.uuids(), b=st.uuids(),
       p=st.sampled_from(["manifest", "role/CA", "role/ECE"]),
       q=st.sampled_from(["manifest", "role/CA", "role/ECE"]))
def test_a_subkey_depends_on_the_key_the_backup_and_the_purpose(key, a, b, p, q):
    derived = keys.derive(key, a, p)
    assert len(derived) == 32 and derived != key
    assert (derived == keys.derive(key, b, q)) == (a == b and p == q)
    assert derived != keys.derive(bytes(x ^ 1 for x in key), a, p)


@settings(max_examples=100)
@given(key=st.binary(min_size=32, max_size=32), backup=st.uuids(),
       purpose=st.one_of(st.sampled_from(["manifest", "role/CA"]),
                         st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                 max_size=80)))
def test_a_subkey_is_rfc_5869_hkdf_sha256(key, backup, purpose):
    # The writer's HKDF is written out by hand (speed); cryptography's is the reference.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=backup.bytes,
                    info=b"IBS1 " + purpose.encode("ascii")).derive(key)
    assert keys.derive(key, backup, purpose) == expected


# Lengths either side of SHA-256's 64-byte block, where the key is padded or hashed first.
_EDGES = st.sampled_from([0, 1, 32, 63, 64, 65, 128, 129]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n))


@given(key=_EDGES | st.binary(max_size=150), message=st.binary(max_size=300))
def test_hmac_sha256_is_the_standard_librarys(key, message):
    # Written out from two hashes (speed); hmac, over OpenSSL, is the reference.
    assert keys.hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


@given(prks=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3),
       calls=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["manifest", "role/CA", "role/ECE"])),
                      min_size=1, max_size=12))
def test_expanding_keys_in_any_order_gives_each_subkey_its_own_hmac(prks, calls):
    # A key's Subkeys keeps its HMAC's keyed hashes for every subkey it gives: whatever was
    # asked before, of it or of another key's, each subkey is the HMAC of its own key and
    # purpose, and expand alone gives the same.
    subkeys = [keys.Subkeys(prk) for prk in prks]
    for i, purpose in calls:
        prk = prks[i % len(prks)]
        info = b"IBS1 " + purpose.encode("ascii") + b"\x01"
        assert subkeys[i % len(prks)].expand(purpose) == hmac.digest(prk, info, "sha256")
        assert keys.expand(prk, purpose) == hmac.digest(prk, info, "sha256")
