"""Onion-routed sandbox location (seed 004, Fig. 4): cells, routers, the Exit endpoint and the proxy.

Pure format and layering live in :mod:`.cells` and :mod:`.e2e`; the asyncio TCP services in
:mod:`.router`, :mod:`.endpoint` and :mod:`.proxy`; the on-chain directory (RSC) in :mod:`.directory`.
"""

from offchain.web3compute.onion.cells import DEFAULT_FORMAT, CellFormat, Command, Hop, MalformedCell
from offchain.web3compute.onion.directory import RouterInfo, fetch_routers, register_router, select_path
from offchain.web3compute.onion.endpoint import SandboxEndpoint
from offchain.web3compute.onion.proxy import Circuit, CircuitError, ExitInfo, OnionProxy
from offchain.web3compute.onion.router import OnionRouter

__all__ = [
    "DEFAULT_FORMAT",
    "CellFormat",
    "Circuit",
    "CircuitError",
    "Command",
    "ExitInfo",
    "Hop",
    "MalformedCell",
    "OnionProxy",
    "OnionRouter",
    "RouterInfo",
    "SandboxEndpoint",
    "fetch_routers",
    "register_router",
    "select_path",
]
