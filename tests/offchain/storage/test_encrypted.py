"""Encrypted storage: only ciphertext reaches the backend; wrapped keys are per recipient and CID."""

import dataclasses
from pathlib import Path

import pytest

from offchain.crypto.errors import DecryptionError
from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import generate as generate_keypair
from offchain.storage import (
    CorruptedBlock,
    EncryptedStore,
    KuboRpcStore,
    LocalStore,
    SealedRef,
    canonical_reference,
    parse_cid,
)
from offchain.storage.base import flatfs_relative_path
from offchain.storage.encrypted import BLOB_OVERHEAD, seal, unseal
from offchain.storage.rpc_server import RpcServerThread

SECRET = b"model weights: " + bytes(range(256)) * 2000


def test_round_trip_and_nothing_in_clear(tmp_path: Path) -> None:
    owner = generate_keypair()
    backend = LocalStore(tmp_path / "s")
    store = EncryptedStore(backend)
    ref, content_key = store.put(SECRET, owner.public_key)
    assert store.get(ref, owner) == SECRET
    assert store.get_with_key(ref.cid, content_key) == SECRET
    blob = backend.get(ref.cid)
    assert len(blob) == len(SECRET) + BLOB_OVERHEAD
    assert SECRET[:64] not in blob
    for path in backend.blocks_dir.glob("*/*.data"):
        assert b"model weights" not in path.read_bytes()
    assert ref.reference == canonical_reference(ref.cid)
    assert ref.reference_hash == keccak256(ref.reference.encode())
    assert ref.size == len(SECRET)


def test_same_plaintext_twice_gives_unlinkable_ciphertexts(tmp_path: Path) -> None:
    owner = generate_keypair()
    store = EncryptedStore(LocalStore(tmp_path / "s"))
    first, _ = store.put(b"same", owner.public_key)
    second, _ = store.put(b"same", owner.public_key)
    assert first.cid != second.cid


def test_wrong_key_and_other_blobs_fail(tmp_path: Path) -> None:
    owner, stranger = generate_keypair(), generate_keypair()
    store = EncryptedStore(LocalStore(tmp_path / "s"))
    ref, _ = store.put(SECRET, owner.public_key)
    other, _ = store.put(b"other", owner.public_key)
    with pytest.raises(DecryptionError):
        store.get(ref, stranger)
    # a wrapped key is bound to its blob: moved onto another CID it does not open
    with pytest.raises(DecryptionError):
        store.get(dataclasses.replace(other, wrapped_key=ref.wrapped_key), owner)


def test_share_to_a_buyer_without_re_uploading(tmp_path: Path) -> None:
    seller, buyer = generate_keypair(), generate_keypair()
    store = EncryptedStore(LocalStore(tmp_path / "s"))
    ref, _ = store.put(SECRET, seller.public_key)
    for_buyer = store.share(ref, seller, buyer.public_key)
    assert for_buyer.cid == ref.cid
    assert store.get(for_buyer, buyer) == SECRET
    with pytest.raises(DecryptionError):
        store.get(for_buyer, seller)


def test_tampered_ciphertext_is_caught_twice(tmp_path: Path) -> None:
    owner = generate_keypair()
    backend = LocalStore(tmp_path / "s")
    store = EncryptedStore(backend)
    ref, key = store.put(b"short secret", owner.public_key)
    path = backend.blocks_dir / flatfs_relative_path(parse_cid(ref.cid))
    block = bytearray(path.read_bytes())
    block[-3] ^= 1
    path.write_bytes(bytes(block))
    with pytest.raises(CorruptedBlock):  # the store's re-hash
        store.get(ref, owner)
    blob = bytearray(seal(b"short secret", key))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):  # and AES-GCM's tag, for a backend that would not check
        unseal(bytes(blob), key)
    with pytest.raises(DecryptionError, match="not a sealed blob"):
        unseal(b"plain text, not sealed at all", key)


def test_over_the_kubo_rpc_backend(tmp_path: Path) -> None:
    owner = generate_keypair()
    with RpcServerThread(LocalStore(tmp_path / "served")) as server:
        store = EncryptedStore(KuboRpcStore(server.url))
        ref, _ = store.put(SECRET, owner.public_key)
        assert store.get(ref, owner) == SECRET


def test_sealed_ref_json_round_trip() -> None:
    owner = generate_keypair()
    ref = SealedRef("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", b"\x01\x02", 5)
    assert SealedRef.from_json(ref.to_json()) == ref
    with pytest.raises(ValueError, match="sealed reference"):
        SealedRef.from_json('{"cid": "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"}')
    assert owner.public_key
