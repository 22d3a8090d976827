"""``python -m offchain.outsourcing.enclave --keystore K --password-file P --deployments D``: one enclave.

The process prints one JSON line ``{"ready": true, "address": ..., "endpoint": ...}`` on stdout once it
serves, is registered in RSC and MSC and has proved block sync, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from offchain.chain.connection import connect
from offchain.chain.deployments import load_deployments
from offchain.outsourcing.enclave.chain import EnclaveChain
from offchain.outsourcing.enclave.keys import load_enclave_keys
from offchain.outsourcing.enclave.service import EnclaveService


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m offchain.outsourcing.enclave", description=__doc__)
    parser.add_argument(
        "--keystore", type=Path, required=True, help="Web3 Secret Storage file of the enclave"
    )
    parser.add_argument(
        "--password-file", type=Path, required=True, help="file holding the keystore password"
    )
    parser.add_argument("--deployments", type=Path, required=True, help="deployments file (RSC, MSC, ASC)")
    parser.add_argument("--rpc-url", default=None, help="JSON-RPC URL (default: the deployments file's)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--member-timeout", type=float, default=4.0, help="seconds a member has to answer")
    parser.add_argument("--poll-interval", type=float, default=0.3, help="seconds between MSC event polls")
    return parser.parse_args(argv)


async def serve(arguments: argparse.Namespace) -> None:
    keys = load_enclave_keys(arguments.keystore, arguments.password_file)
    deployments = load_deployments(arguments.deployments)
    w3 = connect(arguments.rpc_url or deployments.rpc_url, expected_chain_id=deployments.chain_id)
    service = EnclaveService(
        keys,
        EnclaveChain(w3, deployments, keys.identity),
        host=arguments.host,
        port=arguments.port,
        poll_interval=arguments.poll_interval,
        member_timeout=arguments.member_timeout,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    print(
        json.dumps({"ready": True, "address": keys.address, "endpoint": service.agent.endpoint}), flush=True
    )
    try:
        await stop.wait()
    finally:
        await service.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    asyncio.run(serve(_arguments(argv)))


if __name__ == "__main__":
    main()
