"""Helpers the MetaAICM demo flows share: senders, registration, the devnet clock, and a ledger that prints
the exact MTC and reputation changes and checks them against what the rules predict."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.contract import Contract

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.registry import NodeStatus, RegistryClient
from offchain.chain.roles import ActorRole
from offchain.chain.sender import TransactionSender
from offchain.crypto.derivation import encryption_keypair
from offchain.crypto.keys import KeyPair
from offchain.marketplace.chain import ReputationReader

TOKEN = 10**18
ONE = 10**18


def sender_for(w3: Web3, deployments: Deployments, key: KeyPair) -> TransactionSender:
    return TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)


def registry_for(w3: Web3, deployments: Deployments, key: KeyPair) -> RegistryClient:
    return RegistryClient(contract(w3, deployments, "RSC"), sender_for(w3, deployments, key))


def ensure_registered(
    registry: RegistryClient,
    key: KeyPair,
    roles: ActorRole,
    endpoint: str,
    auditor: RegistryClient | None = None,
) -> None:
    """Register ``key`` in RSC with ``roles`` at ``endpoint`` (or update the endpoint); an auditor approves
    permissioned roles."""
    record = registry.node(key.address)
    if record.status is not NodeStatus.ACTIVE:
        registry.register(roles, encryption_keypair(key).compressed_public_key, endpoint)
    elif record.endpoint != endpoint:
        registry.update_endpoint(endpoint)
    record = registry.node(key.address)
    if record.pending_roles & roles:
        if auditor is None:
            raise RuntimeError(f"{key.address} waits for an auditor to approve {record.pending_roles.label}")
        auditor.approve_roles(key.address, record.pending_roles & roles)


def chain_now(w3: Web3) -> int:
    """Timestamp of the latest block."""
    return int(w3.eth.get_block("latest")["timestamp"])


def advance_time(w3: Web3, seconds: int) -> None:
    """Devnet only: move the clock forward (anvil's ``evm_increaseTime``) and mine a block."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def mtc(amount: int, signed: bool = False) -> str:
    """``amount`` base units as MTC with up to 4 decimals (a ``+`` in front of gains when ``signed``)."""
    sign = "-" if amount < 0 else ("+" if amount > 0 and signed else "")
    return f"{sign}{abs(amount) / TOKEN:,.4f}".rstrip("0").rstrip(".") + " MTC"


def rep(amount: int) -> str:
    sign = "-" if amount < 0 else ("+" if amount > 0 else "")
    return f"{sign}{abs(amount) / ONE:.6f}".rstrip("0").rstrip(".")


@dataclass
class Change:
    """One account's measured and expected changes."""

    label: str
    mtc: int
    expected_mtc: int
    reputation: int
    expected_reputation: int

    @property
    def ok(self) -> bool:
        return self.mtc == self.expected_mtc and self.reputation == self.expected_reputation


@dataclass
class Ledger:
    """Balances and reputations of the named accounts, before and after a step."""

    token: Contract
    reputation: ReputationReader
    accounts: dict[str, str] = field(default_factory=dict)  # label -> address

    def snapshot(self) -> dict[str, tuple[int, int]]:
        return {
            label: (
                int(self.token.functions.balanceOf(address).call()),
                self.reputation.reputation_of(address),
            )
            for label, address in self.accounts.items()
        }

    def check(
        self,
        before: dict[str, tuple[int, int]],
        expected_mtc: dict[str, int],
        expected_rep: dict[str, int],
        console: Console,
        title: str,
    ) -> list[Change]:
        """Print every change beside the rules' prediction; raise if any differs."""
        after = self.snapshot()
        changes = [
            Change(
                label,
                after[label][0] - before[label][0],
                expected_mtc.get(label, 0),
                after[label][1] - before[label][1],
                expected_rep.get(label, 0),
            )
            for label in self.accounts
        ]
        table = Table(title=title, title_justify="left")
        for column in ("account", "MTC change", "rule", "reputation change", "rule", ""):
            table.add_column(column, justify="left" if column in {"account", ""} else "right")
        for change in changes:
            table.add_row(
                change.label,
                mtc(change.mtc, signed=True),
                mtc(change.expected_mtc, signed=True),
                rep(change.reputation),
                rep(change.expected_reputation),
                "[green]✓[/]" if change.ok else "[red]✗[/]",
            )
        console.print(table)
        wrong = [c.label for c in changes if not c.ok]
        if wrong:
            raise RuntimeError(f"{title}: changes of {', '.join(wrong)} differ from the rules")
        return changes
