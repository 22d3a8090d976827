"""The chain layer every agent and client uses: web3.py over an RPC URL plus a deployments file.

* :mod:`~offchain.chain.connection`: :func:`connect`, :func:`contract`
* :mod:`~offchain.chain.deployments`: :class:`Deployments`, :func:`load_deployments`
* :mod:`~offchain.chain.sender`: :class:`TransactionSender` (nonces, fees, gas, named reverts)
* :mod:`~offchain.chain.events`: :class:`EventWatcher`, :func:`get_events`
* :mod:`~offchain.chain.errors`: :class:`ChainError` and subclasses, :func:`decode_revert`
* :mod:`~offchain.chain.devnet`: :class:`Devnet`, :func:`devnet_up`, :func:`devnet_down`, :func:`dev_accounts`
"""

from offchain.chain.connection import DEFAULT_RPC_URL, RPC_URL_ENV, connect, contract, default_rpc_url
from offchain.chain.deployments import ContractInfo, Deployments, deployments_path, load_deployments
from offchain.chain.devnet import (
    DEFAULT_MNEMONIC,
    Devnet,
    DevnetAlreadyRunning,
    DevnetError,
    DevnetStatus,
    dev_accounts,
    devnet_down,
    devnet_up,
    find_anvil,
)
from offchain.chain.errors import (
    PANIC_CODES,
    ChainError,
    ChainIdMismatch,
    ChainUnavailable,
    ContractRevert,
    DeploymentNotFound,
    DeploymentsFileNotFound,
    TransactionFailed,
    decode_revert,
    error_selector,
    error_signature,
    revert_data_from_exception,
)
from offchain.chain.events import MAX_BLOCK_RANGE, EventWatcher, get_events
from offchain.chain.sender import ContractCall, TransactionSender

__all__ = [
    "DEFAULT_MNEMONIC",
    "DEFAULT_RPC_URL",
    "MAX_BLOCK_RANGE",
    "PANIC_CODES",
    "RPC_URL_ENV",
    "ChainError",
    "ChainIdMismatch",
    "ChainUnavailable",
    "ContractCall",
    "ContractInfo",
    "ContractRevert",
    "DeploymentNotFound",
    "Deployments",
    "DeploymentsFileNotFound",
    "Devnet",
    "DevnetAlreadyRunning",
    "DevnetError",
    "DevnetStatus",
    "EventWatcher",
    "TransactionFailed",
    "TransactionSender",
    "connect",
    "contract",
    "decode_revert",
    "default_rpc_url",
    "deployments_path",
    "dev_accounts",
    "devnet_down",
    "devnet_up",
    "error_selector",
    "error_signature",
    "find_anvil",
    "get_events",
    "load_deployments",
    "revert_data_from_exception",
]
