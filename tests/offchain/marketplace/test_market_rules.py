"""The marketplace's two-stage dispute as a pure function (offchain/marketplace/rules.py)."""

from __future__ import annotations

import coincurve
import pytest

from offchain.crypto import ecies_lite
from offchain.crypto.errors import InvalidPrivateKey
from offchain.marketplace.rules import Outcome, judge, url_hash

URL = b"ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
CONTEXT = ecies_lite.context_digest(31337, "0x" + "22" * 20, 1)


def setup() -> tuple[int, tuple[int, int], bytes]:
    key = coincurve.PrivateKey()
    x, y = key.public_key.point()
    return int.from_bytes(key.secret, "big"), (int(x), int(y)), key.public_key.format()


def test_three_branches_and_the_literal_stage2() -> None:
    secret, point, public = setup()
    good = ecies_lite.encrypt(public, URL, CONTEXT)
    assert judge(URL, secret, point, good, CONTEXT, url_hash(URL)) == Outcome.NO_DISCREPANCY
    assert judge(URL + b"x", secret, point, good, CONTEXT, url_hash(URL)) == Outcome.BUYER_LIED
    wrong = ecies_lite.encrypt(public, b"ipfs://other", CONTEXT)
    assert judge(b"ipfs://other", secret, point, wrong, CONTEXT, url_hash(URL)) == Outcome.URL_MODIFIED
    literal = judge(URL, secret, point, good, CONTEXT, url_hash(URL), faithful_stage2=True)
    assert literal == Outcome.URL_MODIFIED  # the thesis's rule refunds a correct delivery


def test_wrong_key_or_ephemeral_is_a_lie() -> None:
    secret, point, public = setup()
    good = ecies_lite.encrypt(public, URL, CONTEXT)
    other_secret, _, _ = setup()
    assert judge(URL, other_secret, point, good, CONTEXT, url_hash(URL)) == Outcome.BUYER_LIED
    claimed = (good.ephemeral_x, good.ephemeral_y + 1)
    assert (
        judge(URL, secret, point, good, CONTEXT, url_hash(URL), claimed_ephemeral=claimed)
        == Outcome.BUYER_LIED
    )
    off_curve = ecies_lite.Ciphertext(good.ephemeral_x, good.ephemeral_y + 1, good.body)
    assert judge(URL, secret, point, off_curve, CONTEXT, url_hash(URL)) == Outcome.BUYER_LIED
    with pytest.raises(InvalidPrivateKey):
        judge(URL, 0, point, good, CONTEXT, url_hash(URL))
