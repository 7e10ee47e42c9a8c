"""The transform and signing primitives on their own (interop is in the other tests)."""

from __future__ import annotations

import pytest

from ibs.fake_smb import crypto
from ibs.fake_smb.dialects import SMB_2_1, SMB_3_0, SMB_3_1_1


def _client_view(keys: crypto.SessionKeys) -> crypto.SessionKeys:
    # What the server decrypts with is what the client encrypts with.
    return crypto.SessionKeys(keys.dialect, keys.signing, keys.decrypt, keys.encrypt)


@pytest.mark.parametrize("cipher", crypto.SUPPORTED_CIPHERS)
def test_transform_round_trip_and_tamper(cipher):
    keys = crypto.derive_keys(b"k" * 16, SMB_3_1_1, b"\x01" * 64, cipher)
    message = b"\xfeSMB" + bytes(60) + b"payload" * 100
    frame = crypto.encrypt(_client_view(keys), cipher, 42, message)
    assert frame[:4] == b"\xfdSMB" and crypto.transform_session_id(frame) == 42
    assert message[64:80] not in frame
    assert crypto.decrypt(keys, cipher, frame) == message
    bad = bytearray(frame)
    bad[-1] ^= 1
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(keys, cipher, bytes(bad))


def test_directions_and_dialects_use_distinct_keys():
    k30 = crypto.derive_keys(b"k" * 16, SMB_3_0, b"")
    k311 = crypto.derive_keys(b"k" * 16, SMB_3_1_1, b"\x00" * 64)
    assert len({k30.signing, k30.encrypt, k30.decrypt, k311.signing, k311.encrypt, k311.decrypt}) == 6
    assert crypto.derive_keys(b"k" * 16, SMB_3_1_1, b"\x01" * 64).signing != k311.signing


@pytest.mark.parametrize("cipher", [crypto.AES_256_GCM, crypto.AES_256_CCM])
def test_aes_256_cipher_keys_are_256_bits_and_signing_stays_128(cipher):
    # MS-SMB2 3.3.5.5.3: L = 256 for the cipher keys of an AES-256 session.
    k128 = crypto.derive_keys(b"k" * 16, SMB_3_1_1, b"\x01" * 64, crypto.AES_128_GCM)
    k256 = crypto.derive_keys(b"k" * 16, SMB_3_1_1, b"\x01" * 64, cipher)
    assert (len(k256.encrypt), len(k256.decrypt), len(k256.signing)) == (32, 32, 16)
    assert k256.signing == k128.signing
    # L is part of the KDF input, so the 256-bit key does not extend the 128-bit one.
    assert k256.encrypt[:16] != k128.encrypt
    assert k256.encrypt == crypto.kdf(b"k" * 16, b"SMBS2CCipherKey\x00", b"\x01" * 64, 32)


@pytest.mark.parametrize("dialect", [SMB_2_1, SMB_3_0])
def test_sign_in_place_sets_flag_and_signature(dialect):
    keys = crypto.derive_keys(b"s" * 16, dialect, b"")
    buf = bytearray(b"\xfeSMB" + bytes(60) + b"body")
    crypto.sign_in_place(keys, buf, 0, len(buf))
    assert buf[16] & 0x08
    sig = bytes(buf[48:64])
    buf[48:64] = bytes(16)
    assert crypto.signature(keys, buf) == sig
