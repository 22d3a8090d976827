"""The marketplace flow of ``make demo`` (MetaAICM, seed 001, §4.5.2, Fig. 4.3).

1. A seller and a cheating seller run as HTTP agents on loopback and register their endpoints in RSC; a
   buyer registers as an avatar. The treasury gives the buyer MTC.
2. Sale: the seller stores a dataset encrypted, lists it (price, description URI, H_s); the buyer escrows
   the price with a per-purchase key B, finds the seller in RSC and asks for delivery; the seller encrypts
   (URL ‖ K) to B (ECIES-lite) on chain; the buyer decrypts, checks H_s, fetches and opens the dataset and
   checks its digest; after t_chal the payment is released and the buyer rates 9 (seller +A/P).
3. Dispute: the cheating seller delivers the reference of a decoy; the buyer sees the mismatch, predicts the
   outcome with the contract's rule, disputes within t_chal and is refunded (seller −1).
4. Bad input: a stranger asking for another buyer's delivery gets a 403 and the seller keeps serving.

Every MTC and reputation change is printed beside the rule's prediction and checked exactly.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from web3 import Web3

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.roles import ActorRole
from offchain.crowdsourcing.rules import reward_delta
from offchain.crypto.keys import KeyPair, derive
from offchain.marketplace.agents import (
    DELIVER_ACTION,
    Buyer,
    DeliverReceipt,
    DeliverRequest,
    Seller,
)
from offchain.marketplace.chain import MarketClient, ProductType, PurchaseStatus, ReputationReader
from offchain.marketplace.rules import Outcome
from offchain.marketplace.support import (
    ONE,
    TOKEN,
    Change,
    Ledger,
    advance_time,
    ensure_registered,
    mtc,
    registry_for,
    sender_for,
)
from offchain.storage.embedded import LocalStore

PRICE = 25 * TOKEN
RATING = 9


@dataclass
class MarketFlowReport:
    """What the flow showed, for the caller to check."""

    steps: list[str] = field(default_factory=list)
    changes: dict[str, list[Change]] = field(default_factory=dict)
    sale_purchase: int = 0
    dispute_purchase: int = 0
    dispute_outcome: Outcome | None = None
    bad_request_status: int = 0

    def note(self, console: Console, text: str) -> None:
        self.steps.append(text)
        console.print(f"  [green]✓[/] {text}")


def sample_dataset(seed: int, rows: int = 40) -> bytes:
    """A small numeric CSV (the product sold)."""
    rng = random.Random(seed)
    lines = ["pixel_mean,pixel_std,label"]
    lines += [f"{rng.uniform(0, 16):.3f},{rng.uniform(0, 8):.3f},{rng.randrange(10)}" for _ in range(rows)]
    return ("\n".join(lines) + "\n").encode()


async def run_marketplace_flow(
    w3: Web3,
    deployments: Deployments,
    treasury: KeyPair,
    console: Console,
    *,
    seed: bytes = b"metaaicm-marketplace-demo",
    store_root: Path | None = None,
) -> MarketFlowReport:
    """Run one sale (delivery, release, rating) and one dispute the buyer wins.

    ``treasury`` holds MTC (it pays the buyer's budget). The seller, the cheating seller and the buyer are
    keys derived from ``seed`` (use another seed to run the flow again on the same chain), given gas money
    with ``fund_on_devnet``. The devnet clock is moved past t_chal with ``evm_increaseTime``. Items are kept
    in an embedded store under ``store_root`` (a temporary directory by default).
    """
    report = MarketFlowReport()
    console.rule("[bold]MetaAICM marketplace: a sale with rating, and a dispute the buyer wins")
    seller_key, cheater_key, buyer_key = (derive(seed, i) for i in range(3))
    fund_on_devnet(w3, [k.address for k in (seller_key, cheater_key, buyer_key)])
    token = contract(w3, deployments, "MetaCoin")
    mpc = contract(w3, deployments, "MPC")
    reputation = ReputationReader(contract(w3, deployments, "RC"))
    market_reader = MarketClient(mpc)
    challenge_window = int(mpc.functions.challengeWindow().call())
    temp = tempfile.TemporaryDirectory(prefix="metaaicm-market-") if store_root is None else None
    store = LocalStore(Path(temp.name) if temp is not None else Path(store_root or "."))

    def market(key: KeyPair) -> MarketClient:
        return MarketClient(mpc, sender_for(w3, deployments, key))

    seller = Seller(seller_key, market(seller_key), store, name="seller")
    cheater = Seller(cheater_key, market(cheater_key), store, wrong_reference=True, name="cheating-seller")
    buyer_registry = registry_for(w3, deployments, buyer_key)
    buyer = Buyer(buyer_key, market(buyer_key), token, store, buyer_registry)
    ledger = Ledger(
        token,
        reputation,
        {
            "seller": seller_key.address,
            "cheating seller": cheater_key.address,
            "buyer": buyer_key.address,
            "MPC escrow": mpc.address,
        },
    )
    try:
        async with seller.agent, cheater.agent:
            for agent_key, agent in ((seller_key, seller.agent), (cheater_key, cheater.agent)):
                ensure_registered(
                    registry_for(w3, deployments, agent_key), agent_key, ActorRole.AVATAR, agent.endpoint
                )
            ensure_registered(buyer_registry, buyer_key, ActorRole.AVATAR, "")
            sender_for(w3, deployments, treasury).send(token.functions.transfer(buyer_key.address, 3 * PRICE))
            report.note(
                console,
                f"seller {seller_key.address[:10]}… at {seller.agent.endpoint} and cheating seller "
                f"{cheater_key.address[:10]}… at {cheater.agent.endpoint} registered in RSC; buyer "
                f"{buyer_key.address[:10]}… funded with {mtc(3 * PRICE)}",
            )

            # --- the sale -----------------------------------------------------------------------------
            before = ledger.snapshot()
            listing = seller.list_item(
                sample_dataset(1), "digit statistics, 40 rows", PRICE, ProductType.DATASET
            )
            cid = listing.reference.split(b"#")[0].decode()
            report.note(
                console,
                f"product {listing.product_id} listed at {mtc(PRICE)}: the dataset is stored encrypted as "
                f"{cid[:24]}…, H_s = keccak256(URL ‖ K) on chain, "
                f"description {listing.description_uri[:24]}…",
            )
            purchase_id = buyer.buy(listing.product_id)
            receipt = await buyer.request_delivery(purchase_id)
            report.note(
                console,
                f"buyer escrowed the price (purchase {purchase_id}, per-purchase key B), found the seller in "
                f"RSC and asked for delivery; URL_s delivered in {receipt.tx_hash[:12]}…",
            )
            check = buyer.check_delivery(purchase_id)
            if not check.ok:
                raise RuntimeError(f"an honest delivery failed the buyer's check: {check.reason}")
            report.note(console, f"buyer decrypted URL_s, H_s matches, dataset opened: {check.reason}")

            async with AgentClient(cheater_key) as stranger:
                try:
                    await stranger.call(
                        seller.agent.endpoint,
                        seller_key.address,
                        DELIVER_ACTION,
                        DeliverRequest(purchase_id=purchase_id),
                        DeliverReceipt,
                    )
                except AgentCallError as exc:
                    report.bad_request_status = exc.status
                    report.note(
                        console, f"a stranger asking for this delivery → HTTP {exc.status}: {exc.reason}"
                    )
                else:
                    raise RuntimeError("the seller served a delivery request from a stranger")

            advance_time(w3, challenge_window + 1)
            market(treasury).finalize(purchase_id)
            stats = reputation.stats(seller_key.address)
            expected_reward = reward_delta(stats.interactions, stats.participations)
            buyer.rate(purchase_id, RATING)
            if market_reader.purchase(purchase_id).status is not PurchaseStatus.PAID:
                raise RuntimeError("the sale is not paid")
            report.note(
                console,
                f"t_chal passed without a dispute: payment released; buyer rated {RATING}/10 "
                f"(≥ 8: seller +A/P = {stats.interactions}/{stats.participations})",
            )
            report.changes["sale"] = ledger.check(
                before,
                {"seller": PRICE, "buyer": -PRICE},
                {"seller": expected_reward},
                console,
                "sale: list, buy, deliver, release, rate",
            )
            report.sale_purchase = purchase_id

            # --- the dispute --------------------------------------------------------------------------
            before = ledger.snapshot()
            fake = cheater.list_item(
                sample_dataset(2), "digit statistics, 40 rows (B)", PRICE, ProductType.DATASET
            )
            disputed = buyer.buy(fake.product_id)
            await buyer.request_delivery(disputed)
            check = buyer.check_delivery(disputed)
            if check.ok or check.predicted is not Outcome.URL_MODIFIED:
                raise RuntimeError(f"the buyer did not catch the wrong reference ({check.reason})")
            report.note(
                console,
                f"cheating seller listed product {fake.product_id} and delivered a decoy's reference; "
                f"the buyer decrypted it: {check.reason} (predicted outcome {check.predicted.name})",
            )
            outcome = buyer.dispute(disputed, check)
            if outcome is not Outcome.URL_MODIFIED:
                raise RuntimeError(f"the dispute ended {outcome.name}, not URL_MODIFIED")
            report.dispute_outcome = outcome
            report.dispute_purchase = disputed
            report.note(
                console,
                "buyer disputed within t_chal revealing (URL ‖ K, b): stage 1 re-encryption matches URL_s, "
                "stage 2 keccak256(URL) ≠ H_s ⇒ refund, seller −1",
            )
            report.changes["dispute"] = ledger.check(
                before,
                {},
                {"cheating seller": -ONE},
                console,
                "dispute: buy, wrong delivery, refund",
            )
            if market_reader.purchase(disputed).status is not PurchaseStatus.REFUNDED:
                raise RuntimeError("the disputed purchase is not refunded")
    finally:
        if temp is not None:
            temp.cleanup()
    return report
