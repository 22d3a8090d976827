"""Gas of every transaction in a block range, named by decoding calldata against deployed ABIs.

Used by ``make demo`` to print the gas of what it did, whichever client (Ape or web3) sent it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web3 import Web3

from offchain.bench.gas import GasLog


def gas_log_from_blocks(
    w3: Web3, contracts: Mapping[str, Mapping[str, Any]], from_block: int, to_block: int | None = None
) -> GasLog:
    """Scan ``from_block..to_block`` (inclusive; default: latest) for transactions to or creating the
    given contracts (``{name: {"address": ..., "abi": [...]}}``, the deployments-file shape)."""
    by_address = {
        Web3.to_checksum_address(str(info["address"])): (name, w3.eth.contract(abi=list(info["abi"])))
        for name, info in contracts.items()
    }
    last = w3.eth.block_number if to_block is None else to_block
    log = GasLog()
    for number in range(from_block, last + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if isinstance(tx, bytes):  # only hashes: cannot happen with full_transactions=True
                continue
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            if receipt["status"] != 1:
                continue
            target = tx.get("to")
            if target is None:
                created = receipt.get("contractAddress")
                if created and Web3.to_checksum_address(created) in by_address:
                    log.add(
                        by_address[Web3.to_checksum_address(created)][0],
                        "deploy",
                        receipt["gasUsed"],
                        "deploy",
                    )
                continue
            entry = by_address.get(Web3.to_checksum_address(target))
            if entry is None:
                continue
            name, contract = entry
            try:
                function, _ = contract.decode_function_input(tx["input"])
            except ValueError:
                continue
            log.add(name, function.fn_name, receipt["gasUsed"], "tx")
    return log
