"""What an enclave reads from and writes to the chain: RSC, MSC and ASC through the shared chain layer.

Every write goes through one :class:`~offchain.chain.sender.TransactionSender` (the enclave's identity
key), so reverts come back as named custom errors. Calls are blocking: the service runs them in worker
threads (``asyncio.to_thread``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.types import TxReceipt

from offchain.chain.connection import contract
from offchain.chain.deployments import Deployments
from offchain.chain.registry import RegistryClient
from offchain.chain.sender import TransactionSender
from offchain.crypto.keys import KeyPair

# MSC enums
ENCLAVE_NONE, ENCLAVE_REGISTERED, ENCLAVE_ACTIVE, ENCLAVE_REMOVED, ENCLAVE_LEFT = range(5)
ENV_NONE, ENV_SELECTING, ENV_LIVE, ENV_DISSOLVED = range(4)


@dataclass(frozen=True)
class EnvironmentState:
    """An environment as MSC holds it."""

    env_id: int
    status: int
    creator: str
    seed: bytes
    members: tuple[str, ...]
    aggregate_key: bytes

    @property
    def leader(self) -> str:
        return self.members[0]

    @property
    def executor(self) -> str:
        return self.members[1]

    @property
    def monitors(self) -> tuple[str, ...]:
        return self.members[2:]

    def role_of(self, address: str) -> str:
        if address not in self.members:
            return "none"
        index = self.members.index(address)
        return "leader" if index == 0 else "execution" if index == 1 else "monitoring"


@dataclass(frozen=True)
class ChallengeState:
    challenger: str
    target: str
    env_id: int
    deadline: int
    resolved: bool
    request_hash: bytes


class EnclaveChain:
    """RSC, MSC and ASC for one account (an enclave, or a user of the environment)."""

    def __init__(self, w3: Web3, deployments: Deployments, key: KeyPair) -> None:
        self.w3 = w3
        self.deployments = deployments
        self.sender = TransactionSender(w3, Account.from_key(key.private_key), deployments=deployments)
        self.address = key.address
        self.msc = contract(w3, deployments, "MSC")
        self.asc = contract(w3, deployments, "ASC")
        self.token = contract(w3, deployments, "MetaCoin")
        self.registry = RegistryClient(contract(w3, deployments, "RSC"), self.sender)

    @property
    def chain_id(self) -> int:
        return int(self.deployments.chain_id)

    def send(self, call: Any) -> TxReceipt:
        return self.sender.send(call)

    # ------------------------------------------------------------------------------------------ MSC

    def enclave_status(self, address: str) -> int:
        return int(self.msc.functions.enclaveInfo(Web3.to_checksum_address(address)).call()[0])

    def register_enclave(self, bls_key: bytes, pop: bytes, measurement: bytes, quote: bytes) -> TxReceipt:
        stake = int(self.msc.functions.minStake().call())
        self.send(self.token.functions.approve(self.msc.address, stake))
        return self.send(self.msc.functions.registerEnclave(bls_key, pop, measurement, quote, stake))

    def confirm_sync(self) -> TxReceipt:
        height = int(self.w3.eth.block_number)
        block_hash = bytes(self.w3.eth.get_block(height)["hash"])
        # an explicit gas limit: estimating at the head block would see ``height == block.number``
        # (StaleBlock), while the transaction itself runs in the next block
        return self.sender.send(self.msc.functions.confirmSync(height, block_hash), gas=200_000)

    def submit_vrf(self, env_id: int, proof: bytes) -> TxReceipt:
        return self.send(self.msc.functions.submitVrf(env_id, proof))

    def environment(self, env_id: int) -> EnvironmentState:
        status, creator, _size, seed, _deadline, _candidates, members, key = (
            self.msc.functions.environmentInfo(env_id).call()
        )
        return EnvironmentState(
            env_id,
            int(status),
            str(creator),
            bytes(seed),
            tuple(Web3.to_checksum_address(m) for m in members),
            bytes(key),
        )

    def contract_info(self, id_sc: int) -> tuple[int, bytes, int, int, bytes]:
        """(status, code hash, env id, seq, state root) of a registered off-chain contract."""
        status, code_hash, _owner, env_id, seq, root = self.msc.functions.contractInfo(id_sc).call()
        return int(status), bytes(code_hash), int(env_id), int(seq), bytes(root)

    def confirm_install(self, id_sc: int, env_id: int, aggregate_key: bytes, signature: bytes) -> TxReceipt:
        return self.send(self.msc.functions.confirmInstall(id_sc, env_id, aggregate_key, signature))

    def confirm_execution(
        self, id_sc: int, seq: int, state_root: bytes, aggregate_key: bytes, signature: bytes
    ) -> TxReceipt:
        return self.send(
            self.msc.functions.confirmExecution(id_sc, seq, state_root, aggregate_key, signature)
        )

    def challenge(self, env_id: int, target: str, request_hash: bytes) -> int:
        receipt = self.send(
            self.msc.functions.challenge(env_id, Web3.to_checksum_address(target), request_hash)
        )
        event = self.msc.events.ChallengeOpened().process_receipt(receipt)[0]
        return int(event["args"]["challengeId"])

    def challenge_info(self, challenge_id: int) -> ChallengeState:
        raw = self.msc.functions.challengeInfo(challenge_id).call()
        return ChallengeState(str(raw[0]), str(raw[1]), int(raw[2]), int(raw[3]), bool(raw[4]), bytes(raw[5]))

    def respond(self, challenge_id: int, response_hash: bytes) -> TxReceipt:
        return self.send(self.msc.functions.respond(challenge_id, response_hash))

    def timeout_challenge(self, challenge_id: int) -> TxReceipt:
        return self.send(self.msc.functions.timeoutChallenge(challenge_id))

    # ------------------------------------------------------------------------------------------ ASC

    def task(self, task_id: bytes) -> Any:
        return self.asc.functions.getTask(task_id).call()

    def asc_status(self, task_id: bytes) -> int:
        task = self.task(task_id)
        return int(task[2])

    def incentive_pool(self) -> int:
        return int(self.asc.functions.incentivePool().call())

    def bonded(self, csn: str) -> int:
        return int(self.asc.functions.stakeOf(Web3.to_checksum_address(csn)).call()[0])

    def is_eligible(self, csn: str) -> bool:
        return bool(self.asc.functions.isEligible(Web3.to_checksum_address(csn)).call())

    def anchor(self, task_id: bytes, commitment: bytes, signature: bytes) -> TxReceipt:
        return self.send(self.asc.functions.anchorSchedule(task_id, commitment, signature))

    def settle(
        self, task_id: bytes, mlist: list[str], bonus: int, state_root: bytes, signature: bytes
    ) -> TxReceipt:
        return self.send(self.asc.functions.settle(task_id, mlist, bonus, state_root, signature))
