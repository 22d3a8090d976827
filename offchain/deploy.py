"""Deploy every metatrust contract with Ape and write ``deployments/<network>.json``.

One implementation serves ``ape run deploy``, ``ape run demo`` and the contract tests. Each system adds
its contracts here as it lands. The deployments file carries addresses and ABIs, so that agents need only
web3 and an RPC URL (see ``offchain.chain``), not Ape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offchain.chain.roles import DEFAULT_PERMISSIONED, ActorRole

TOKEN_UNIT = 10**18
TOTAL_SUPPLY = 1_000_000_000 * TOKEN_UNIT
#: Split of Eq. (15) of seed 000 in basis points (T_D, T_I, T_C, T_P); the paper gives no numbers.
DEFAULT_SPLIT_BPS = (2_000, 1_500, 2_500, 4_000)


@dataclass
class PlatformConfig:
    """Deployment parameters of the platform contracts."""

    pools: tuple[str, str, str, str]
    split_bps: tuple[int, int, int, int] = DEFAULT_SPLIT_BPS
    permissioned_roles: ActorRole = DEFAULT_PERMISSIONED
    admin: str | None = None  # defaults to the deployer
    auditor: str | None = None  # defaults to the deployer

    def pool_amounts(self) -> list[int]:
        """The four pool amounts in base units; the last takes the rounding remainder."""
        if sum(self.split_bps) != 10_000:
            raise ValueError(f"the split must add up to 10,000 basis points, got {sum(self.split_bps)}")
        amounts = [TOTAL_SUPPLY * bps // 10_000 for bps in self.split_bps[:3]]
        amounts.append(TOTAL_SUPPLY - sum(amounts))
        return amounts


@dataclass
class Deployment:
    """What a deployment produced: Ape contract instances and their records."""

    network: str
    chain_id: int
    contracts: dict[str, Any] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self, rpc_url: str | None) -> dict[str, Any]:
        return {
            "network": self.network,
            "chain_id": self.chain_id,
            "rpc_url": rpc_url,
            "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "contracts": self.records,
        }


def _record(contract: Any) -> dict[str, Any]:
    from ape import chain

    receipt = chain.get_receipt(contract.txn_hash)
    return {
        "address": str(contract.address),
        "abi": [entry.model_dump(mode="json", by_alias=True) for entry in contract.contract_type.abi],
        "block": int(receipt.block_number),
        "tx_hash": str(receipt.txn_hash),
    }


def deploy_platform(project: Any, deployer: Any, config: PlatformConfig | None = None) -> Deployment:
    """Deploy MetaCoin (MTC) and the registry (RSC) from ``deployer``.

    ``project`` is Ape's project manager and ``deployer`` an Ape account. Returns the instances.
    """
    from ape import chain

    if config is None:
        address = str(deployer.address)
        config = PlatformConfig(pools=(address, address, address, address))
    token = deployer.deploy(project.MetaCoin, list(config.pools), config.pool_amounts())
    registry = deployer.deploy(
        project.RSC,
        config.admin or deployer.address,
        config.auditor or deployer.address,
        int(config.permissioned_roles),
    )
    provider = chain.provider
    deployment = Deployment(network=provider.network.name, chain_id=int(provider.chain_id))
    for name, instance in (("MetaCoin", token), ("RSC", registry)):
        deployment.contracts[name] = instance
        deployment.records[name] = _record(instance)
    return deployment


def deploy_resource_auth(
    project: Any, deployer: Any, platform: Deployment, *, msrp: str | None = None
) -> Deployment:
    """Deploy the RSMS ledger (seed 002) against the platform's registry and add it to ``platform``.

    ``deployer`` becomes the ledger's admin and, unless ``msrp`` names another address, its MSRP. The
    pool managers must hold ``POOL_MANAGER`` in RSC before the MSRP opens pools for them. Returns
    ``platform`` with ``RSMSLedger`` added to its contracts and records.
    """
    registry = platform.contracts["RSC"]
    ledger = deployer.deploy(project.RSMSLedger, deployer.address, msrp or deployer.address, registry.address)
    platform.contracts["RSMSLedger"] = ledger
    platform.records["RSMSLedger"] = _record(ledger)
    return platform


#: Seconds a server has to dispute a rejection, and the shortest reveal window an IV may set (MExpmMarket).
MEXPM_DISPUTE_WINDOW = 3_600
MEXPM_MIN_REVEAL_WINDOW = 60


def deploy_modexp(
    project: Any,
    deployer: Any,
    platform: Deployment,
    *,
    dispute_window: int = MEXPM_DISPUTE_WINDOW,
    min_reveal_window: int = MEXPM_MIN_REVEAL_WINDOW,
) -> Deployment:
    """Deploy MExpm (seed 003): the Algorithm 2 verifier and the market (an extension, spec 003 §4.3)
    paying in the platform's MetaCoin and admitting servers registered in its RSC. Adds both to
    ``platform`` (instances and records) and returns it."""
    verifier = deployer.deploy(project.MExpmVerifier)
    market = deployer.deploy(
        project.MExpmMarket,
        platform.contracts["MetaCoin"].address,
        platform.contracts["RSC"].address,
        verifier.address,
        dispute_window,
        min_reveal_window,
    )
    for name, instance in (("MExpmVerifier", verifier), ("MExpmMarket", market)):
        platform.contracts[name] = instance
        platform.records[name] = _record(instance)
    return platform


def write_deployments(deployment: Deployment, rpc_url: str | None, root: Path = Path("deployments")) -> Path:
    """Write ``deployments/<network>.json`` and return its path."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{deployment.network}.json"
    path.write_text(json.dumps(deployment.to_json(rpc_url), indent=2) + "\n")
    return path


def deployer_account() -> Any:
    """The account that deploys: the first test account on a local network, otherwise the Ape keyfile
    account named by ``METATRUST_ACCOUNT`` (import one with ``ape accounts import <alias>``). Ape asks
    before each signature unless ``METATRUST_AUTOSIGN=1``."""
    import os

    from ape import accounts, chain

    if chain.provider.network.is_local:
        return accounts.test_accounts[0]
    alias = os.environ.get("METATRUST_ACCOUNT")
    if not alias:
        raise SystemExit(
            "On a non-local network set METATRUST_ACCOUNT to the alias of an Ape account "
            "(create one with: .venv/bin/ape accounts import <alias>)."
        )
    account = accounts.load(alias)
    if os.environ.get("METATRUST_AUTOSIGN") == "1":
        # Unattended runs: sign without asking. Ape reads the passphrase from
        # APE_ACCOUNTS_<alias>_PASSPHRASE, or asks once.
        account.set_autosign(True, passphrase=os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE"))
    return account


def rpc_url() -> str | None:
    """The HTTP URL of the connected provider, when it has one (written into the deployments file)."""
    from ape import chain

    uri = getattr(chain.provider, "http_uri", None) or getattr(chain.provider, "uri", None)
    return str(uri) if uri else None


# ---------------------------------------------------------------------------------------- MetaAICM (seed 001)

#: 1.0 reputation in RC's fixed point.
REPUTATION_ONE = 10**18


@dataclass
class AicmConfig:
    """Deployment parameters of the MetaAICM contracts (seed 001). Windows are in seconds; the thesis gives
    none of them, so these are our defaults (spec §7 A1, A15, A21)."""

    fulfil_window: int = 3_600  # T_fulfil: a seller delivers within an hour
    challenge_window: int = 3_600  # t_chal
    min_seller_reputation: int = -5 * REPUTATION_ONE  # R_min for listing
    rating_reward_threshold: int = 8  # thesis: ratings >= 8 reward the seller
    rating_penalty_threshold: int = 3  # thesis: ratings <= 3 penalise the seller
    faithful_stage2: bool = False  # True: the thesis's literal (erroneous) stage 2
    oracle_stake: int = 100 * TOKEN_UNIT  # stake an oracle node deposits
    oracle_vote_reward: int = 10 * TOKEN_UNIT  # paid per majority vote from the reward pool
    oracle_deduction: int = 20 * TOKEN_UNIT  # taken from the stake per minority vote
    oracle_vote_window: int = 3_600  # T_vote
    admin: str | None = None  # admin of RC, OracleManager and CommitteeManager; defaults to the deployer
    # CommitteeManager (spec §7 A22, A23, A27: the thesis fixes none of these; our defaults)
    committee_size: int = 10  # authorised + dynamic seats
    authorised_percent: int = 30  # u
    term_rounds: int = 100  # k
    bootstrap_rounds: int = 1_000  # W
    round_blocks: int = 1  # a round is a block ("tokens for each new block")
    leader_timeout_rounds: int = 50  # an unelected term passes to the next authorised leader
    round_reward: int = TOKEN_UNIT  # beta per round, split over the committee
    reputation_unit: int = REPUTATION_ONE  # reputation per election unit
    literal_election: bool = False  # True: the thesis's Algorithm 4.3 verbatim


def deploy_aicm(
    project: Any, deployer: Any, platform: Deployment, config: AicmConfig | None = None
) -> Deployment:
    """Deploy the MetaAICM contracts on top of ``platform`` (MetaCoin): RC, then the system contracts, and
    grant them RC's WRITER_ROLE. MLC's model-evaluation committee is the reputation-elected
    ``CommitteeManager`` (Algorithm 4.3; it reads RC and writes nothing), empty until its admin appoints the
    authorised institutions and the trusted seed nodes. Returns a deployment holding only the new
    contracts."""
    from ape import chain

    config = config or AicmConfig()
    admin = config.admin or deployer.address
    token = platform.contracts["MetaCoin"]
    rc = deployer.deploy(project.RC, deployer.address)
    mpc = deployer.deploy(
        project.MPC,
        token.address,
        rc.address,
        config.fulfil_window,
        config.challenge_window,
        config.min_seller_reputation,
        config.rating_reward_threshold,
        config.rating_penalty_threshold,
        config.faithful_stage2,
    )
    manager = deployer.deploy(
        project.CommitteeManager,
        admin,
        token.address,
        rc.address,
        (
            config.committee_size,
            config.authorised_percent,
            config.term_rounds,
            config.bootstrap_rounds,
            config.round_blocks,
            config.leader_timeout_rounds,
            config.round_reward,
            config.reputation_unit,
            config.literal_election,
        ),
    )
    mlc = deployer.deploy(project.MLC, token.address, rc.address, manager.address)
    oracles = deployer.deploy(
        project.OracleManager,
        deployer.address,
        token.address,
        config.oracle_stake,
        config.oracle_vote_reward,
        config.oracle_deduction,
        config.oracle_vote_window,
    )
    dc = deployer.deploy(project.DC, token.address, rc.address, oracles.address)
    oracles.grantRole(oracles.OPENER_ROLE(), dc.address, sender=deployer)
    writer = rc.WRITER_ROLE()
    for system in (mpc, mlc, dc):
        rc.grantRole(writer, system.address, sender=deployer)
    if str(admin).lower() != str(deployer.address).lower():
        rc.grantRole(rc.DEFAULT_ADMIN_ROLE(), admin, sender=deployer)
        rc.renounceRole(rc.DEFAULT_ADMIN_ROLE(), deployer.address, sender=deployer)
        oracles.grantRole(oracles.DEFAULT_ADMIN_ROLE(), admin, sender=deployer)
        oracles.renounceRole(oracles.DEFAULT_ADMIN_ROLE(), deployer.address, sender=deployer)
    provider = chain.provider
    deployment = Deployment(network=provider.network.name, chain_id=int(provider.chain_id))
    contracts = {
        "RC": rc,
        "MPC": mpc,
        "CommitteeManager": manager,
        "MLC": mlc,
        "OracleManager": oracles,
        "DC": dc,
    }
    for name, instance in contracts.items():
        deployment.contracts[name] = instance
        deployment.records[name] = _record(instance)
    return deployment


@dataclass
class Web3ComputeConfig:
    """Deployment parameters of the seed 004 contracts (the paper gives no values)."""

    challenge_period: int = 3_600  # seconds a unilaterally closed channel can be challenged
    join_window: int = 3_600  # seconds the second party has to join before the opener may cancel


def deploy_web3compute(
    project: Any, deployer: Any, platform: Deployment, config: Web3ComputeConfig | None = None
) -> Deployment:
    """Deploy TaskManager (on the platform's RSC) and StateChannelManager (MTC escrow, TaskManager as the
    channel roster) from ``deployer``; their instances and records are added to ``platform``, which is
    returned (``write_deployments`` then writes every contract)."""
    config = config or Web3ComputeConfig()
    task_manager = deployer.deploy(project.TaskManager, platform.contracts["RSC"].address)
    channels = deployer.deploy(
        project.StateChannelManager,
        platform.contracts["MetaCoin"].address,
        task_manager.address,
        config.challenge_period,
        config.join_window,
    )
    for name, instance in (("TaskManager", task_manager), ("StateChannelManager", channels)):
        platform.contracts[name] = instance
        platform.records[name] = _record(instance)
    return platform


def deploy_all(project: Any, deployer: Any, *, msrp: str | None = None) -> Deployment:
    """Every contract of every system, as ``make demo`` and ``ape run deploy`` deploy them: the platform,
    then MExpm, web3compute, RSMS (``msrp`` is the ledger's MSRP, the deployer by default), MetaAICM and
    Meta-BMEOC (MSC and ASC, :func:`deploy_bmeoc`). Returns one deployment holding them all."""
    deployment = deploy_platform(project, deployer)
    deploy_modexp(project, deployer, deployment)
    deploy_web3compute(project, deployer, deployment)
    deploy_resource_auth(project, deployer, deployment, msrp=msrp)
    aicm = deploy_aicm(project, deployer, deployment)
    deployment.contracts.update(aicm.contracts)
    deployment.records.update(aicm.records)
    deploy_bmeoc(project, deployer, deployment)
    return deployment


# -------------------------------------------------------------------------------------- Meta-BMEOC (seed 000)


@dataclass
class OutsourcingConfig:
    """Deployment parameters of ASC (seed 000); the paper gives none of them (spec §7 #12, #17)."""

    penalty_wad: int = 2 * TOKEN_UNIT  # ϱ = 2.0
    basic_stake: int = 100 * TOKEN_UNIT  # 𝒳: basic stake of a CSN
    dispute_window: int = 3_600  # seconds the MTD has to dispute after the schedule is anchored
    settlement_timeout: int = 3_600  # seconds the environment has to anchor, or to settle a dispute
    unbonding_period: int = 4 * 3_600  # >= dispute_window + 2 * settlement_timeout (checked on chain)
    incentive_funding: int = 0  # tokens moved from the deployer into the incentive pool T_P
    environment_id: bytes | None = None  # bind ASC to this execution environment at once


def deploy_asc(
    project: Any,
    deployer: Any,
    platform: Deployment,
    verifier: Any,
    config: OutsourcingConfig | None = None,
) -> Deployment:
    """Deploy ASC (seed 000) on the platform's MetaCoin and RSC, accepting the aggregate signatures that
    ``verifier`` (an ``IEnvironmentVerifier``: MSC, or the test mock) checks. Grants ASC RSC's
    BLACKLISTER_ROLE (``deployer`` must be RSC's admin), optionally funds the incentive pool and binds the
    environment. Adds ASC to ``platform`` and returns it."""
    config = config or OutsourcingConfig()
    registry, token = platform.contracts["RSC"], platform.contracts["MetaCoin"]
    asc = deployer.deploy(
        project.ASC,
        token.address,
        registry.address,
        verifier.address,
        deployer.address,
        config.penalty_wad,
        config.basic_stake,
        config.dispute_window,
        config.settlement_timeout,
        config.unbonding_period,
    )
    registry.grantRole(registry.BLACKLISTER_ROLE(), asc.address, sender=deployer)
    if config.incentive_funding:
        token.approve(asc.address, config.incentive_funding, sender=deployer)
        asc.fundIncentives(config.incentive_funding, sender=deployer)
    if config.environment_id is not None:
        asc.setEnvironment(config.environment_id, sender=deployer)
    platform.contracts["ASC"] = asc
    platform.records["ASC"] = _record(asc)
    return platform


MSC_MIN_STAKE = 1_000 * TOKEN_UNIT
MSC_SLASH_BPS = 5_000
MSC_RESPONSE_WINDOW = 20  # blocks
MSC_VRF_WINDOW = 20  # blocks


@dataclass
class MscConfig:
    """Deployment parameters of MSC (seed 000 leaves all of them unspecified: these are our defaults)."""

    attestation_key: str | None = None  # defaults to the deterministic test authority (simulated TEE)
    measurement: bytes | None = None  # defaults to the test enclave program's measurement
    slash_recipient: str | None = None  # defaults to the deployer
    min_stake: int = MSC_MIN_STAKE
    slash_bps: int = MSC_SLASH_BPS
    response_window: int = MSC_RESPONSE_WINDOW
    vrf_window: int = MSC_VRF_WINDOW


def deploy_msc(
    project: Any, deployer: Any, platform: Deployment, msc_config: MscConfig | None = None
) -> Deployment:
    """Deploy Meta-BMEOC's on-chain contracts (seed 000): MSC, the management contract of the enclave pool,
    staking the platform's MetaCoin. Adds it to ``platform`` (instances and records) and returns it."""
    from offchain.outsourcing.msc_messages import TEST_MEASUREMENT, simulated_attestation_authority

    config = msc_config or MscConfig()
    msc = deployer.deploy(
        project.MSC,
        platform.contracts["MetaCoin"].address,
        config.attestation_key or simulated_attestation_authority().address,
        config.measurement or TEST_MEASUREMENT,
        config.slash_recipient or deployer.address,
        config.min_stake,
        config.slash_bps,
        config.response_window,
        config.vrf_window,
    )
    platform.contracts["MSC"] = msc
    platform.records["MSC"] = _record(msc)
    return platform


def deploy_bmeoc(
    project: Any,
    deployer: Any,
    platform: Deployment,
    msc_config: MscConfig | None = None,
    asc_config: OutsourcingConfig | None = None,
) -> Deployment:
    """Deploy Meta-BMEOC's on-chain pair (seed 000): MSC (:func:`deploy_msc`), then ASC with MSC as its
    ``IEnvironmentVerifier`` (:func:`deploy_asc`). ASC is bound to an execution environment later, once MSC
    has a live one: the deployer holds ASC's ``ENVIRONMENT_ADMIN_ROLE`` and calls
    ``ASC.setEnvironment(msc_messages.asc_environment_id(envId))`` (or ``AscClient.set_environment``), unless
    ``asc_config.environment_id`` binds it at once. Adds "MSC" and "ASC" to ``platform`` and returns it."""
    deploy_msc(project, deployer, platform, msc_config)
    return deploy_asc(project, deployer, platform, platform.contracts["MSC"], asc_config)
