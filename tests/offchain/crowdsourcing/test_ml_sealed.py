"""Sealed multi-recipient blobs (models, D_val), task descriptions and the flow's money formatting."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.crowdsourcing.ml.agents import DIGITS_TASK, MODEL_KIND, VALIDATION_KIND, TaskDescription
from offchain.crowdsourcing.ml.flow import mtc
from offchain.crowdsourcing.ml.sealed import (
    SealedBlobError,
    SealedEnvelope,
    cid_of,
    open_sealed,
    publish_sealed,
)
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair, from_private_key
from offchain.storage import EncryptedStore, LocalStore

SECRET = b"onnx model bytes that only the committee and the requester may read" * 10


def _key(i: int) -> KeyPair:
    return from_private_key(bytes(31) + bytes([i]))


@pytest.fixture
def store(tmp_path: Path) -> EncryptedStore:
    return EncryptedStore(LocalStore(tmp_path))


def test_every_recipient_opens_the_blob_and_nobody_else(store: EncryptedStore, tmp_path: Path) -> None:
    a, b, outsider = _key(1), _key(2), _key(3)
    recipients = {k.address: encryption_keypair(k).compressed_public_key for k in (a, b)}
    uri = publish_sealed(store, SECRET, recipients, MODEL_KIND)
    assert uri.startswith("ipfs://bafy")
    for k in (a, b):
        assert open_sealed(store, uri, k.address, encryption_keypair(k), MODEL_KIND, 1 << 20) == SECRET
    with pytest.raises(SealedBlobError) as caught:
        open_sealed(store, uri, outsider.address, encryption_keypair(outsider), MODEL_KIND, 1 << 20)
    assert caught.value.code == "not-a-recipient"
    # Claiming to be a recipient without its key does not open it either.
    with pytest.raises(SealedBlobError) as caught:
        open_sealed(store, uri, a.address, encryption_keypair(outsider), MODEL_KIND, 1 << 20)
    assert caught.value.code == "cannot-decrypt"
    # The store holds no plaintext.
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "blocks").glob("*/*.data"))
    assert SECRET[:40] not in blobs


def test_kind_size_and_reference_are_checked(store: EncryptedStore) -> None:
    a = _key(1)
    uri = publish_sealed(store, SECRET, {a.address: encryption_keypair(a).compressed_public_key}, MODEL_KIND)
    cases = [
        (uri, VALIDATION_KIND, 1 << 20, "wrong-kind"),
        (uri, MODEL_KIND, len(SECRET) - 1, "too-large"),
        ("ipfs://not-a-cid", MODEL_KIND, 1 << 20, "bad-reference"),
        ("ipfs://" + store.backend.put(b"{}"), MODEL_KIND, 1 << 20, "bad-envelope"),
        ("ipfs://" + store.backend.put(b"\x80\x04pickle"), MODEL_KIND, 1 << 20, "bad-envelope"),
    ]
    for reference, kind, cap, code in cases:
        with pytest.raises(SealedBlobError) as caught:
            open_sealed(store, reference, a.address, encryption_keypair(a), kind, cap)
        assert caught.value.code == code, reference
    # A model sealed as D_val cannot be replayed as a model: the kind is bound as associated data too.
    envelope = SealedEnvelope.from_bytes(store.backend.get(cid_of(uri)))
    relabelled = SealedEnvelope(envelope.cid, envelope.size, envelope.keys, VALIDATION_KIND)
    forged = "ipfs://" + store.backend.put(relabelled.to_bytes())
    with pytest.raises(SealedBlobError) as caught:
        open_sealed(store, forged, a.address, encryption_keypair(a), VALIDATION_KIND, 1 << 20)
    assert caught.value.code == "cannot-decrypt"


def test_recipients_are_bounded(store: EncryptedStore) -> None:
    with pytest.raises(ValueError, match="recipients"):
        publish_sealed(store, SECRET, {}, MODEL_KIND)


def test_task_description_round_trip_and_rejection() -> None:
    assert TaskDescription.from_bytes(DIGITS_TASK.to_bytes()) == DIGITS_TASK
    for bad in (b"", b"[]", b'{"format": "other"}', b'{"format": "metatrust/mlc-task/v1"}'):
        with pytest.raises(ValueError, match="not a task description"):
            TaskDescription.from_bytes(bad)


def test_mtc_amounts_are_printed_exactly() -> None:
    assert mtc(150 * 10**18) == "150 MTC"
    assert mtc(-300 * 10**18) == "-300 MTC"
    assert mtc(10**18 // 3) == "0.333333333333333333 MTC"
    assert mtc(1_000 * 10**18 + 1) == "1,000.000000000000000001 MTC"
