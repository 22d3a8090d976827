"""Web3 clients of MPC and the RC reads, on the shared chain layer (seed 001, spec §2.4, §2.5).

:class:`MarketClient` wraps MPC (listing, purchase, delivery, dispute, release, rating, views and the
delivery event); :class:`ReputationReader` reads RC (r_i, P_i, A_i). Writes go through a
:class:`~offchain.chain.sender.TransactionSender`, so a refused call raises
:class:`~offchain.chain.errors.ContractRevert` with the named Solidity error before any gas is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from offchain.chain.contract_client import ContractClient
from offchain.crypto import ecies_lite
from offchain.marketplace.rules import Outcome

UINT256_MAX = 2**256 - 1


class ProductType(IntEnum):
    """``MPC.ProductType``."""

    DATASET = 0
    MODEL = 1


class PurchaseStatus(IntEnum):
    """``MPC.Status``."""

    NONE = 0
    REQUESTED = 1
    DELIVERED = 2
    PAID = 3
    REFUNDED = 4
    CANCELLED = 5


@dataclass(frozen=True)
class Product:
    """``MPC.Product``."""

    product_id: int
    seller: str
    price: int
    active: bool
    url_hash: bytes
    rating_sum: int
    rating_count: int


@dataclass(frozen=True)
class Purchase:
    """``MPC.Purchase`` plus the buyer key B named at purchase (from the event)."""

    purchase_id: int
    buyer: str
    product_id: int
    status: PurchaseStatus
    rated: bool
    deadline: int


@dataclass(frozen=True)
class ReputationStats:
    """RC's profile of an avatar: r_i (fixed point, 1e18 = 1.0), P_i and A_i."""

    reputation: int
    participations: int
    interactions: int


class ReputationReader:
    """Read-only client of RC (only the system contracts write reputation)."""

    def __init__(self, rc: Contract) -> None:
        self.contract = rc

    def reputation_of(self, avatar: str) -> int:
        """r_i in fixed point."""
        return int(self.contract.functions.reputationOf(avatar).call())

    def stats(self, avatar: str) -> ReputationStats:
        """r_i, P_i, A_i."""
        reputation, participations, interactions = self.contract.functions.stats(avatar).call()
        return ReputationStats(int(reputation), int(participations), int(interactions))

    def have_met(self, a: str, b: str) -> bool:
        """Whether two avatars have interacted."""
        return bool(self.contract.functions.haveMet(a, b).call())


class MarketClient(ContractClient):
    """MPC for one account (``sender``), or read-only without one."""

    def _event(self, receipt: TxReceipt, name: str) -> Any:
        events = getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise RuntimeError(f"no {name} event in transaction {receipt['transactionHash'].hex()}")
        return events[0]["args"]

    # --- sellers ----------------------------------------------------------------------------------

    def list_product(
        self, price: int, product_type: ProductType, url_hash: bytes, desc_uri: str
    ) -> tuple[int, TxReceipt]:
        """T_list: returns the new product id and the receipt."""
        receipt = self._send(
            self.contract.functions.listProduct(price, int(product_type), url_hash, desc_uri)
        )
        return int(self._event(receipt, "ProductListed")["productId"]), receipt

    def deliver(self, purchase_id: int, ciphertext: ecies_lite.Ciphertext) -> TxReceipt:
        """Deliver URL_s = (E, c)."""
        return self._send(
            self.contract.functions.deliver(
                purchase_id, ciphertext.ephemeral_x, ciphertext.ephemeral_y, ciphertext.body
            )
        )

    def delist(self, product_id: int) -> TxReceipt:
        return self._send(self.contract.functions.delist(product_id))

    # --- buyers -----------------------------------------------------------------------------------

    def approve(self, token: Contract, amount: int = UINT256_MAX) -> TxReceipt:
        """Let MPC take ``amount`` MTC from the sender (the escrow)."""
        return self._send(token.functions.approve(self.contract.address, amount))

    def request_purchase(self, product_id: int, buyer_key: tuple[int, int]) -> tuple[int, TxReceipt]:
        """Escrow the price and name the per-purchase key B; returns the purchase id and the receipt."""
        receipt = self._send(self.contract.functions.requestPurchase(product_id, buyer_key[0], buyer_key[1]))
        return int(self._event(receipt, "PurchaseRequested")["purchaseId"]), receipt

    def dispute(
        self, purchase_id: int, url: bytes, buyer_secret: int, ephemeral: tuple[int, int]
    ) -> tuple[Outcome, TxReceipt]:
        """The two-stage dispute; returns the contract's outcome."""
        receipt = self._send(
            self.contract.functions.dispute(purchase_id, url, buyer_secret, ephemeral[0], ephemeral[1])
        )
        return Outcome(int(self._event(receipt, "DisputeResolved")["outcome"])), receipt

    def finalize(self, purchase_id: int) -> TxReceipt:
        """Release the escrow to the seller after t_chal (anyone)."""
        return self._send(self.contract.functions.finalize(purchase_id))

    def cancel_undelivered(self, purchase_id: int) -> TxReceipt:
        return self._send(self.contract.functions.cancelUndelivered(purchase_id))

    def rate(self, purchase_id: int, score: int) -> TxReceipt:
        return self._send(self.contract.functions.rate(purchase_id, score))

    # --- views ------------------------------------------------------------------------------------

    def product(self, product_id: int) -> Product:
        seller, price, active, url_hash, rating_sum, rating_count = self.contract.functions.getProduct(
            product_id
        ).call()
        return Product(
            product_id,
            str(seller),
            int(price),
            bool(active),
            bytes(url_hash),
            int(rating_sum),
            int(rating_count),
        )

    def purchase(self, purchase_id: int) -> Purchase:
        buyer, product_id, status, rated, deadline, _ = self.contract.functions.getPurchase(
            purchase_id
        ).call()
        return Purchase(
            purchase_id, str(buyer), int(product_id), PurchaseStatus(int(status)), bool(rated), int(deadline)
        )

    def encryption_context(self, purchase_id: int) -> bytes:
        return bytes(self.contract.functions.encryptionContext(purchase_id).call())

    def average_rating(self, product_id: int) -> int:
        return int(self.contract.functions.averageRating(product_id).call())

    def product_description(self, product_id: int) -> str:
        """P_desc of a listing (kept in the ``ProductListed`` event only)."""
        logs = self.contract.events.ProductListed().get_logs(
            from_block=0, argument_filters={"productId": product_id}
        )
        if not logs:
            raise LookupError(f"product {product_id} was never listed")
        return str(logs[0]["args"]["descURI"])

    def buyer_key(self, purchase_id: int) -> tuple[int, int]:
        """B named at purchase (from ``PurchaseRequested``)."""
        logs = self.contract.events.PurchaseRequested().get_logs(
            from_block=0, argument_filters={"purchaseId": purchase_id}
        )
        if not logs:
            raise LookupError(f"purchase {purchase_id} does not exist")
        return int(logs[0]["args"]["buyerKeyX"]), int(logs[0]["args"]["buyerKeyY"])

    def delivery(self, purchase_id: int) -> ecies_lite.Ciphertext | None:
        """URL_s = (E, c) from ``ProductDelivered``, or None before delivery."""
        events = self.contract.events.ProductDelivered().get_logs(
            from_block=0, argument_filters={"purchaseId": purchase_id}
        )
        if not events:
            return None
        args = events[-1]["args"]
        return ecies_lite.Ciphertext(
            int(args["ephemeralX"]), int(args["ephemeralY"]), bytes(args["ciphertext"])
        )
