"""Deploy every metatrust contract and write deployments/<network>.json.

.venv/bin/ape run deploy --network ethereum:local:foundry     # the embedded devnet (default)
METATRUST_ACCOUNT=deployer .venv/bin/ape run deploy --network https://rpc.example   # any EVM RPC
"""

from ape import project
from rich.console import Console

from offchain.deploy import deploy_all, deployer_account, rpc_url, write_deployments


def main() -> None:
    console = Console()
    deployer = deployer_account()
    console.print(f"deploying from [bold]{deployer.address}[/]")
    deployment = deploy_all(project, deployer)
    for name, record in deployment.records.items():
        console.print(f"  {name:<12} {record['address']}  (block {record['block']})")
    path = write_deployments(deployment, rpc_url())
    console.print(f"wrote [bold]{path}[/]")
