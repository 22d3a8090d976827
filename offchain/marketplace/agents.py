"""The marketplace's agents (seed 001, §4.5.2, Fig. 4.3): a seller service and a buyer.

* :class:`Seller` stores each item encrypted (AES-256-GCM under a fresh key K) in content-addressed storage,
  publishes a plain description (name, size, SHA-256 of the item), lists the item with H_s = keccak256 of the
  keyed reference (URL ‖ K, spec §4.3 extension) and serves the ``mpc-deliver`` action: when the buyer of a
  purchase asks, it encrypts the keyed reference to the purchase's key B with ECIES-lite and delivers it on
  chain. ``wrong_reference=True`` makes it a cheating seller that delivers the reference of a decoy item.
* :class:`Buyer` escrows the price with a fresh per-purchase key B, discovers the seller's endpoint in RSC,
  asks for delivery, decrypts URL_s, checks it against H_s (predicting the on-chain dispute outcome with
  :func:`~offchain.marketplace.rules.judge`), fetches and opens the item and checks its digest, then either
  lets the payment go and rates it, or disputes.

Bad requests get 4xx answers with a reason (unknown purchase 404, not the buyer 403, wrong state 409); a
refused transaction becomes a 409 with the contract's error name. The agent never crashes on input.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field

from coincurve import PrivateKey
from pydantic import BaseModel, Field
from web3.contract import Contract

from offchain.agents.client import AgentClient
from offchain.agents.discovery import lookup_peer
from offchain.agents.errors import AgentError
from offchain.agents.service import Agent
from offchain.chain.errors import ChainError, ContractRevert
from offchain.chain.registry import RegistryClient
from offchain.crypto import ecies_lite
from offchain.crypto.keys import KeyPair
from offchain.marketplace.chain import MarketClient, ProductType, PurchaseStatus
from offchain.marketplace.reference import keyed_reference, parse_keyed_reference, reference_hash
from offchain.marketplace.rules import Outcome, judge
from offchain.storage.base import ContentStore
from offchain.storage.cid import canonical_reference
from offchain.storage.encrypted import EncryptedStore
from offchain.storage.errors import StorageError

DELIVER_ACTION = "mpc-deliver"


class DeliverRequest(BaseModel):
    """Ask the seller to deliver purchase ``purchase_id`` (sent by its buyer). MPC's purchase ids are
    product (32 bits) | buyer (160 bits) | block (64 bits), so they fill 256 bits."""

    purchase_id: int = Field(ge=1, lt=2**256)


class DeliverReceipt(BaseModel):
    """The delivery transaction."""

    purchase_id: int
    tx_hash: str


@dataclass(frozen=True)
class Description:
    """P_desc: what a listing promises (stored in plain text, its URI on chain)."""

    name: str
    product_type: str
    size: int
    sha256: str

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Description:
        try:
            document = json.loads(data)
            return cls(
                str(document["name"]),
                str(document["product_type"]),
                int(document["size"]),
                str(document["sha256"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed product description: {exc}") from None


@dataclass(frozen=True)
class Listing:
    """A listed item as its seller knows it."""

    product_id: int
    price: int
    reference: bytes  # URL ‖ K
    description_uri: str


def _point_bytes(point: tuple[int, int]) -> bytes:
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


class Seller:
    """A seller: lists encrypted items and serves deliveries to their buyers."""

    def __init__(
        self,
        key: KeyPair,
        market: MarketClient,
        store: ContentStore,
        *,
        wrong_reference: bool = False,
        name: str = "seller",
    ) -> None:
        self.key = key
        self.market = market
        self.store = store
        self.sealed = EncryptedStore(store)
        self.wrong_reference = wrong_reference
        self.catalog: dict[int, Listing] = {}
        self.agent = Agent(key, name=name, role="seller")
        self.agent.route(DELIVER_ACTION, DeliverRequest, self._on_deliver)

    def _stored(self, item: bytes) -> bytes:
        """Seal ``item`` under a fresh key, store it, return its keyed reference."""
        ref, content_key = self.sealed.put(item, self.key.public_key)
        return keyed_reference(ref.cid, content_key)

    def list_item(self, item: bytes, name: str, price: int, product_type: ProductType) -> Listing:
        """Store ``item`` encrypted, publish its description and list it at ``price`` MTC units."""
        reference = self._stored(item)
        description = Description(
            name, product_type.name.lower(), len(item), hashlib.sha256(item).hexdigest()
        )
        description_uri = canonical_reference(self.store.put(description.to_json()))
        product_id, _ = self.market.list_product(
            price, product_type, reference_hash(reference), description_uri
        )
        listing = Listing(product_id, price, reference, description_uri)
        self.catalog[product_id] = listing
        return listing

    async def _on_deliver(self, sender: str, request: DeliverRequest) -> DeliverReceipt:
        purchase = await asyncio.to_thread(self.market.purchase, request.purchase_id)
        if purchase.status is PurchaseStatus.NONE:
            raise AgentError(404, "unknown-purchase", f"purchase {request.purchase_id} does not exist")
        listing = self.catalog.get(purchase.product_id)
        if listing is None:
            raise AgentError(
                404, "not-my-product", f"product {purchase.product_id} is not sold by this agent"
            )
        if purchase.buyer.lower() != sender.lower():
            raise AgentError(403, "not-buyer", f"{sender} is not the buyer of purchase {request.purchase_id}")
        if purchase.status is not PurchaseStatus.REQUESTED:
            raise AgentError(
                409, "wrong-status", f"purchase {request.purchase_id} is {purchase.status.name.lower()}"
            )
        buyer_key = await asyncio.to_thread(self.market.buyer_key, request.purchase_id)
        context = await asyncio.to_thread(self.market.encryption_context, request.purchase_id)
        reference = listing.reference
        if self.wrong_reference:  # a cheating seller: the reference of a decoy, not of the listed item
            reference = await asyncio.to_thread(self._stored, b"decoy: not what was listed")
        ciphertext = ecies_lite.encrypt(_point_bytes(buyer_key), reference, context)
        try:
            receipt = await asyncio.to_thread(self.market.deliver, request.purchase_id, ciphertext)
        except ContractRevert as exc:
            raise AgentError(409, "refused-on-chain", str(exc), contract_error=exc.error_name) from exc
        return DeliverReceipt(
            purchase_id=request.purchase_id, tx_hash="0x" + bytes(receipt["transactionHash"]).hex()
        )


@dataclass
class Check:
    """What the buyer found in a delivery."""

    purchase_id: int
    ok: bool
    reason: str
    reference: bytes = b""
    predicted: Outcome | None = None
    item: bytes = b""


@dataclass
class PurchaseKey:
    """The per-purchase key B = b·G (revealing b in a dispute harms nothing else)."""

    secret: int

    @property
    def point(self) -> tuple[int, int]:
        x, y = PrivateKey(self.secret.to_bytes(32, "big")).public_key.point()
        return int(x), int(y)


@dataclass
class Buyer:
    """A buyer: escrows, asks for delivery, checks what arrives, rates or disputes."""

    key: KeyPair
    market: MarketClient
    token: Contract
    store: ContentStore
    registry: RegistryClient
    keys: dict[int, PurchaseKey] = field(default_factory=dict)

    def buy(self, product_id: int) -> int:
        """Escrow the price (approving MPC first) under a fresh key B; returns the purchase id."""
        price = self.market.product(product_id).price
        if int(self.token.functions.allowance(self.key.address, self.market.address).call()) < price:
            self.market.approve(self.token)
        key = PurchaseKey(ecies_lite.draw_ephemeral())  # B.x < n, as MPC requires
        purchase_id, _ = self.market.request_purchase(product_id, key.point)
        self.keys[purchase_id] = key
        return purchase_id

    async def request_delivery(self, purchase_id: int) -> DeliverReceipt:
        """Find the seller's endpoint in RSC and ask it to deliver."""
        product = self.market.product(self.market.purchase(purchase_id).product_id)
        peer = await lookup_peer(self.registry, product.seller)
        if peer is None or not peer.endpoint:
            raise LookupError(f"seller {product.seller} has no active endpoint in RSC")
        async with AgentClient(self.key) as rpc:
            return await rpc.call(
                peer.endpoint,
                peer.address,
                DELIVER_ACTION,
                DeliverRequest(purchase_id=purchase_id),
                DeliverReceipt,
            )

    def check_delivery(self, purchase_id: int) -> Check:
        """Decrypt URL_s, compare with H_s, fetch and open the item, compare with its description."""
        delivered = self.market.delivery(purchase_id)
        if delivered is None:
            return Check(purchase_id, False, "nothing delivered yet")
        purchase = self.market.purchase(purchase_id)
        product = self.market.product(purchase.product_id)
        key = self.keys[purchase_id]
        context = self.market.encryption_context(purchase_id)
        reference = ecies_lite.decrypt(key.secret, delivered, context)
        predicted = judge(reference, key.secret, key.point, delivered, context, product.url_hash)
        if predicted is not Outcome.NO_DISCREPANCY:
            return Check(
                purchase_id, False, "the delivered reference does not match H_s", reference, predicted
            )
        try:
            cid, content_key = parse_keyed_reference(reference)
            item = self.sealed_store.get_with_key(cid, content_key)
            description_uri = self.market.product_description(product.product_id)
            description = Description.from_json(self.store.get(description_uri.removeprefix("ipfs://")))
        except (ValueError, StorageError, ChainError, LookupError) as exc:
            return Check(purchase_id, False, f"the item cannot be fetched: {exc}", reference, predicted)
        if hashlib.sha256(item).hexdigest() != description.sha256:
            return Check(
                purchase_id, False, "the item differs from its description", reference, predicted, item
            )
        return Check(
            purchase_id,
            True,
            f"{description.name}: {len(item)} bytes as described",
            reference,
            predicted,
            item,
        )

    @property
    def sealed_store(self) -> EncryptedStore:
        return EncryptedStore(self.store)

    def dispute(self, purchase_id: int, check: Check) -> Outcome:
        """Reveal the decrypted reference and b within t_chal; returns the contract's outcome."""
        delivered = self.market.delivery(purchase_id)
        if delivered is None:
            raise ValueError(f"purchase {purchase_id} was not delivered")
        outcome, _ = self.market.dispute(
            purchase_id,
            check.reference,
            self.keys[purchase_id].secret,
            (delivered.ephemeral_x, delivered.ephemeral_y),
        )
        return outcome

    def rate(self, purchase_id: int, score: int) -> None:
        """Rate a paid purchase 0-10 (>= 8 rewards the seller, <= 3 penalises it)."""
        if not 0 <= score <= 10:
            raise ValueError(f"a rating is 0..10, got {score}")
        self.market.rate(purchase_id, score)
