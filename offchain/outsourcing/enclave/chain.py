"""One account's handles on the chain for the enclave environment: RSC, MSC and ASC (helper B's typed
clients) and MTC, all writing through one :class:`~offchain.chain.sender.TransactionSender`, so reverts
come back as named custom errors. Calls are blocking: the agents run them in worker threads."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from web3 import Web3
from web3.types import TxReceipt

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.sender import TransactionSender
from offchain.crypto.keys import KeyPair
from offchain.outsourcing.chain_clients import AscClient, EnvironmentInfo, MscClient


def role_of(env: EnvironmentInfo, address: str) -> str:
    """``leader``, ``execution``, ``monitoring`` or ``none`` (ascending VRF order)."""
    if address not in env.members:
        return "none"
    index = env.members.index(Web3.to_checksum_address(address))
    return "leader" if index == 0 else "execution" if index == 1 else "monitoring"


class EnclaveChain:
    """RSC, MSC, ASC and MTC for one account (an enclave, or a user of the environment)."""

    def __init__(self, w3: Web3, deployments: Deployments, key: KeyPair) -> None:
        self.w3 = w3
        self.deployments = deployments
        self.address = key.address
        self.sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
        self.msc = MscClient(contract(w3, deployments, "MSC"), self.sender)
        self.asc = AscClient(contract(w3, deployments, "ASC"), self.sender)
        self.token = contract(w3, deployments, "MetaCoin")
        self.registry = RegistryClient(contract(w3, deployments, "RSC"), self.sender)

    @property
    def chain_id(self) -> int:
        return int(self.deployments.chain_id)

    def send(self, call: Any) -> TxReceipt:
        """Any other call (token transfers, approvals) through the same sender."""
        return self.sender.send(call)

    def balance(self, address: str) -> int:
        return int(self.token.functions.balanceOf(Web3.to_checksum_address(address)).call())

    def head(self) -> int:
        return int(self.w3.eth.block_number)
