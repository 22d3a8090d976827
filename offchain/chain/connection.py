"""Connecting to a JSON-RPC node and binding deployed contracts."""

from __future__ import annotations

import logging
import os

from web3 import Web3
from web3.contract import Contract
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from offchain.chain.deployments import Deployments
from offchain.chain.errors import ChainIdMismatch, ChainUnavailable

__all__ = ["DEFAULT_RPC_URL", "RPC_URL_ENV", "connect", "contract", "default_rpc_url"]

log = logging.getLogger(__name__)

RPC_URL_ENV = "METATRUST_RPC_URL"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def default_rpc_url() -> str:
    """``$METATRUST_RPC_URL`` if set, else ``http://127.0.0.1:8545``."""
    return os.environ.get(RPC_URL_ENV) or DEFAULT_RPC_URL


def connect(
    rpc_url: str | None = None,
    *,
    expected_chain_id: int | None = None,
    timeout: float = 30,
    retries: int = 3,
) -> Web3:
    """Return a :class:`Web3` over HTTP to ``rpc_url`` (default :func:`default_rpc_url`).

    Each HTTP request times out after ``timeout`` seconds; read-only requests that fail with a
    connection error are retried ``retries`` times with a short backoff by web3 itself.
    Raises :class:`ChainUnavailable` when the node does not answer and
    :class:`ChainIdMismatch` when ``expected_chain_id`` is given and differs.
    """
    url = rpc_url or default_rpc_url()
    provider = Web3.HTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        exception_retry_configuration=ExceptionRetryConfiguration(
            errors=(OSError,), retries=retries, backoff_factor=0.05
        ),
    )
    w3 = Web3(provider)
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # requests/OS errors, timeouts, garbage answers: all mean "not usable"
        raise ChainUnavailable(
            f"no JSON-RPC node answers at {url} ({type(exc).__name__}: {exc}). "
            f"Start the devnet with `metatrust devnet up` (or `make demo`), "
            f"or point ${RPC_URL_ENV} at a running node."
        ) from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatch(expected_chain_id, chain_id, url)
    log.debug("connected to %s (chain id %d)", url, chain_id)
    return w3


def contract(w3: Web3, deployments: Deployments, name: str) -> Contract:
    """The web3 contract ``name`` from ``deployments`` bound to ``w3``.

    Raises :class:`~offchain.chain.errors.DeploymentNotFound` when ``name`` is unknown.
    """
    info = deployments.contract_info(name)
    return w3.eth.contract(address=info.address, abi=info.abi)
