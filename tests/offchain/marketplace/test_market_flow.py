"""The marketplace flow of ``make demo`` with real agents on the devnet, the seller agent's 4xx answers, and
the spec §5 cases the contract tests do not cover (S2 through the buyer's client, S5 for stored items)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from offchain.agents.client import AgentClient
from offchain.agents.errors import AgentCallError
from offchain.chain.connection import connect, contract
from offchain.chain.deployments import Deployments
from offchain.chain.devnet import fund_on_devnet
from offchain.chain.errors import ContractRevert
from offchain.chain.roles import ActorRole
from offchain.crypto import ecies_lite
from offchain.crypto.keys import KeyPair, derive, from_private_key
from offchain.marketplace.agents import DELIVER_ACTION, Buyer, DeliverReceipt, DeliverRequest, Seller
from offchain.marketplace.chain import MarketClient, ProductType, PurchaseStatus, ReputationReader
from offchain.marketplace.flow import PRICE, run_marketplace_flow, sample_dataset
from offchain.marketplace.reference import keyed_reference, parse_keyed_reference
from offchain.marketplace.rules import Outcome
from offchain.marketplace.support import ONE, advance_time, ensure_registered, registry_for, sender_for
from offchain.storage.embedded import LocalStore

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def deployments(aicm_deployments: Deployments) -> Deployments:
    return aicm_deployments


@pytest.fixture(scope="module")
def w3(deployments: Deployments) -> Any:
    return connect(deployments.rpc_url, expected_chain_id=deployments.chain_id)


@pytest.fixture(scope="module")
def treasury(pool_holders: Any) -> KeyPair:
    return from_private_key(pool_holders[0].private_key)


def test_marketplace_flow_sale_and_dispute(w3: Any, deployments: Deployments, treasury: KeyPair) -> None:
    report = asyncio.run(run_marketplace_flow(w3, deployments, treasury, QUIET))
    assert len(report.steps) == 8
    assert report.bad_request_status == 403
    assert report.dispute_outcome is Outcome.URL_MODIFIED
    sale = {c.label: c for c in report.changes["sale"]}
    assert sale["seller"].mtc == PRICE
    assert sale["buyer"].mtc == -PRICE
    assert sale["MPC escrow"].mtc == 0
    assert sale["seller"].reputation > 0  # rating 9 >= 8: +A/P
    dispute = {c.label: c for c in report.changes["dispute"]}
    assert dispute["buyer"].mtc == 0
    assert dispute["cheating seller"].mtc == 0
    assert dispute["cheating seller"].reputation == -ONE
    assert dispute["buyer"].reputation == 0
    assert all(c.ok for changes in report.changes.values() for c in changes)
    market = MarketClient(contract(w3, deployments, "MPC"))
    assert market.purchase(report.sale_purchase).status is PurchaseStatus.PAID
    assert market.purchase(report.sale_purchase).rated
    assert market.purchase(report.dispute_purchase).status is PurchaseStatus.REFUNDED
    assert market.average_rating(market.purchase(report.sale_purchase).product_id) == 9 * ONE


class Market:
    """A seller, a buyer and a stranger on the module's chain, for the agent-level tests."""

    def __init__(self, w3: Any, deployments: Deployments, treasury: KeyPair, seed: bytes, root: Path) -> None:
        self.w3 = w3
        self.seller_key, self.buyer_key, self.stranger_key = (derive(seed, i) for i in range(3))
        fund_on_devnet(w3, [k.address for k in (self.seller_key, self.buyer_key, self.stranger_key)])
        self.token = contract(w3, deployments, "MetaCoin")
        self.mpc = contract(w3, deployments, "MPC")
        self.store = LocalStore(root)
        self.seller = Seller(
            self.seller_key, MarketClient(self.mpc, sender_for(w3, deployments, self.seller_key)), self.store
        )
        registry = registry_for(w3, deployments, self.buyer_key)
        self.buyer = Buyer(
            self.buyer_key,
            MarketClient(self.mpc, sender_for(w3, deployments, self.buyer_key)),
            self.token,
            self.store,
            registry,
        )
        self.deployments = deployments
        ensure_registered(registry, self.buyer_key, ActorRole.AVATAR, "")
        sender_for(w3, deployments, treasury).send(
            self.token.functions.transfer(self.buyer_key.address, 4 * PRICE)
        )

    def register_seller(self) -> None:
        registry = registry_for(self.w3, self.deployments, self.seller_key)
        ensure_registered(registry, self.seller_key, ActorRole.AVATAR, self.seller.agent.endpoint)


def test_seller_agent_answers_bad_requests_with_4xx(
    w3: Any, deployments: Deployments, treasury: KeyPair, tmp_path: Path
) -> None:
    market = Market(w3, deployments, treasury, b"market-4xx", tmp_path)

    async def scenario() -> list[int]:
        statuses = []
        async with market.seller.agent, AgentClient(market.buyer_key) as rpc:
            market.register_seller()
            listing = market.seller.list_item(sample_dataset(3), "rows", PRICE, ProductType.DATASET)
            purchase_id = market.buyer.buy(listing.product_id)
            endpoint, address = market.seller.agent.endpoint, market.seller_key.address
            for payload in ({"purchase_id": 10**6}, {"purchase_id": 0}, {"purchase_id": "x"}):
                with pytest.raises(AgentCallError) as refused:
                    await rpc.call(endpoint, address, DELIVER_ACTION, payload, DeliverReceipt)
                statuses.append(refused.value.status)
            await market.buyer.request_delivery(purchase_id)
            with pytest.raises(AgentCallError) as again:
                await rpc.call(
                    endpoint, address, DELIVER_ACTION, DeliverRequest(purchase_id=purchase_id), DeliverReceipt
                )
            statuses.append(again.value.status)
            assert again.value.code == "wrong-status"
            assert market.buyer.check_delivery(purchase_id).ok  # the agent kept serving correctly
        return statuses

    assert asyncio.run(scenario()) == [404, 400, 400, 409]


def test_buyer_client_never_disputes_a_correct_delivery(
    w3: Any, deployments: Deployments, treasury: KeyPair, tmp_path: Path
) -> None:
    """S2: the buyer's check predicts NO_DISCREPANCY; disputing anyway pays the seller, buyer -1."""
    market = Market(w3, deployments, treasury, b"market-s2", tmp_path)
    reputation = ReputationReader(contract(w3, deployments, "RC"))

    async def scenario() -> None:
        async with market.seller.agent:
            market.register_seller()
            listing = market.seller.list_item(sample_dataset(4), "rows", PRICE, ProductType.DATASET)
            purchase_id = market.buyer.buy(listing.product_id)
            await market.buyer.request_delivery(purchase_id)
            check = market.buyer.check_delivery(purchase_id)
            assert check.ok
            assert check.predicted is Outcome.NO_DISCREPANCY
            seller_before = int(market.token.functions.balanceOf(market.seller_key.address).call())
            buyer_rep = reputation.reputation_of(market.buyer_key.address)
            assert market.buyer.dispute(purchase_id, check) is Outcome.NO_DISCREPANCY
            assert (
                int(market.token.functions.balanceOf(market.seller_key.address).call())
                == seller_before + PRICE
            )
            assert reputation.reputation_of(market.buyer_key.address) == buyer_rep - ONE
            # S4 through the client: a rating outside 0..10 never leaves it; <= 3 costs the seller 1; once.
            with pytest.raises(ValueError, match="a rating is"):
                market.buyer.rate(purchase_id, 11)
            seller_rep = reputation.reputation_of(market.seller_key.address)
            market.buyer.rate(purchase_id, 2)
            assert reputation.reputation_of(market.seller_key.address) == seller_rep - ONE
            with pytest.raises(ContractRevert) as again:
                market.buyer.rate(purchase_id, 9)
            assert again.value.error_name == "AlreadyRated"

    asyncio.run(scenario())


def test_stored_items_and_deliveries_reveal_nothing_to_third_parties(
    w3: Any, deployments: Deployments, treasury: KeyPair, tmp_path: Path
) -> None:
    """S5: storage holds only ciphertext; URL_s opens only with the purchase's key; H_s hides K."""
    market = Market(w3, deployments, treasury, b"market-s5", tmp_path)
    item = sample_dataset(5)

    async def scenario() -> None:
        async with market.seller.agent:
            market.register_seller()
            listing = market.seller.list_item(item, "rows", PRICE, ProductType.DATASET)
            cid, content_key = parse_keyed_reference(listing.reference)
            blob = market.store.get(cid)
            assert item[:40] not in blob
            assert content_key not in blob
            purchase_id = market.buyer.buy(listing.product_id)
            await market.buyer.request_delivery(purchase_id)
            delivered = MarketClient(market.mpc).delivery(purchase_id)
            assert delivered is not None
            assert listing.reference not in delivered.body
            context = MarketClient(market.mpc).encryption_context(purchase_id)
            outsider = derive(b"market-s5-outsider", 0)
            guess = ecies_lite.decrypt(int.from_bytes(outsider.private_key, "big"), delivered, context)
            assert guess != listing.reference
            with pytest.raises(ValueError, match="keyed reference"):
                parse_keyed_reference(guess)
            assert market.buyer.check_delivery(purchase_id).item == item

    asyncio.run(scenario())


def test_undelivered_purchase_is_refunded_after_the_fulfil_window(
    w3: Any, deployments: Deployments, treasury: KeyPair, tmp_path: Path
) -> None:
    market = Market(w3, deployments, treasury, b"market-cancel", tmp_path)
    listing = market.seller.list_item(sample_dataset(6), "rows", PRICE, ProductType.DATASET)
    before = int(market.token.functions.balanceOf(market.buyer_key.address).call())
    purchase_id = market.buyer.buy(listing.product_id)
    advance_time(w3, int(market.mpc.functions.fulfilWindow().call()) + 1)
    market.buyer.market.cancel_undelivered(purchase_id)
    assert int(market.token.functions.balanceOf(market.buyer_key.address).call()) == before
    assert market.buyer.market.purchase(purchase_id).status is PurchaseStatus.CANCELLED


def test_keyed_references_round_trip_and_refuse_other_forms() -> None:
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    key = bytes(range(32))
    reference = keyed_reference(cid, key)
    assert parse_keyed_reference(reference) == (cid, key)
    for bad in (
        b"ipfs://" + cid.encode(),
        reference + b"0",
        reference.replace(b"#key=", b"#k="),
        b"",
        b"\xff",
    ):
        with pytest.raises(ValueError, match="reference"):
            parse_keyed_reference(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        keyed_reference(cid, b"short")
