"""RSC, the registry of every actor: registration, auditing, discovery, updates, blacklisting.

Every revert path has a test; every state change is checked through its event.
"""

from __future__ import annotations

from typing import Any

import ape
import coincurve
import pytest
from py_ecc.optimized_bls12_381 import G1, G2, multiply, normalize

from offchain.chain.roles import DEFAULT_PERMISSIONED, ActorRole

ZERO = "0x0000000000000000000000000000000000000000"
SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
RESOURCES = ("10.0.0.7", 8, 16_384, 512, 1_000)
PROVIDER = b"provider-a".ljust(32, b"\0")
ACTIVE, DEREGISTERED, BLACKLISTED = 1, 2, 3


def enc_key() -> bytes:
    return coincurve.PrivateKey().public_key.format(compressed=True)


def _fp(value: int) -> bytes:
    return value.to_bytes(64, "big")


def bls_g1(scalar: int = 7) -> bytes:
    x, y = normalize(multiply(G1, scalar))
    return _fp(int(x)) + _fp(int(y))


def bls_g2(scalar: int = 7) -> bytes:
    x, y = normalize(multiply(G2, scalar))
    return b"".join(_fp(int(c)) for c in (*x.coeffs, *y.coeffs))


def register(registry: Any, node: Any, roles: int, **overrides: Any) -> Any:
    args = {
        "roles": int(roles),
        "encryptionKey": enc_key(),
        "blsKey": b"",
        "endpoint": "http://127.0.0.1:8801",
        "resources": RESOURCES,
        "provider": PROVIDER,
    }
    args.update(overrides)
    return registry.register(*args.values(), sender=node)


# -------------------------------------------------------------------------------- deployment


def test_deployment_sets_admin_auditor_and_permissioned_roles(
    registry: Any, deployer: Any, auditor: Any
) -> None:
    assert registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), deployer)
    assert registry.hasRole(registry.AUDITOR_ROLE(), auditor)
    assert not registry.hasRole(registry.AUDITOR_ROLE(), deployer)
    assert registry.permissionedRoles() == int(DEFAULT_PERMISSIONED)


def test_python_roles_mirror_the_contract(registry: Any) -> None:
    assert registry.knownRoles() == int(ActorRole.all())
    bits = [int(role) for role in ActorRole]
    assert all(bit & (bit - 1) == 0 for bit in bits)  # one bit each
    assert len(set(bits)) == len(bits)


def test_constructor_rejects_zero_addresses(project: Any, deployer: Any) -> None:
    with ape.reverts(project.RSC.ZeroAddress):
        deployer.deploy(project.RSC, ZERO, deployer, 0)
    with ape.reverts(project.RSC.ZeroAddress):
        deployer.deploy(project.RSC, deployer, ZERO, 0)


def test_constructor_rejects_unknown_roles(project: Any, deployer: Any) -> None:
    with ape.reverts(project.RSC.UnknownRoles, roles=1 << 40):
        deployer.deploy(project.RSC, deployer, deployer, 1 << 40)


# -------------------------------------------------------------------------------- registration


def test_open_roles_are_granted_at_once(registry: Any, accounts: Any) -> None:
    node = accounts[6]
    key = enc_key()
    receipt = register(registry, node, ActorRole.MTD | ActorRole.AVATAR, encryptionKey=key)
    roles = int(ActorRole.MTD | ActorRole.AVATAR)
    assert receipt.events == [registry.NodeRegistered(node, roles, 0, PROVIDER, "http://127.0.0.1:8801")]
    record = registry.getNode(node)
    assert record.status == ACTIVE
    assert record.roles == roles
    assert record.pendingRoles == 0
    assert record.encryptionKey == key
    assert record.endpoint == "http://127.0.0.1:8801"
    assert record.resources.ip == "10.0.0.7"
    assert record.resources.ramMiB == 16_384
    assert record.provider == PROVIDER
    assert registry.isActive(node, int(ActorRole.MTD))
    assert registry.isActive(node, 0)
    assert not registry.isActive(node, int(ActorRole.CSN))


def test_permissioned_roles_wait_for_the_auditor(registry: Any, accounts: Any, auditor: Any) -> None:
    node = accounts[7]
    roles = ActorRole.CSN | ActorRole.MTD
    receipt = register(registry, node, roles, blsKey=bls_g1())
    assert receipt.events[0].pendingRoles == int(ActorRole.CSN)
    assert registry.isActive(node, int(ActorRole.MTD))
    assert not registry.isActive(node, int(ActorRole.CSN))
    receipt = registry.approveRoles(node, int(ActorRole.CSN), sender=auditor)
    assert receipt.events == [registry.RolesApproved(node, int(ActorRole.CSN), auditor)]
    assert registry.isActive(node, int(roles))
    assert registry.getNode(node).pendingRoles == 0


def test_auditor_can_reject_pending_roles(registry: Any, accounts: Any, auditor: Any) -> None:
    node = accounts[8]
    register(registry, node, ActorRole.ORACLE | ActorRole.ENCLAVE, blsKey=bls_g2())
    receipt = registry.rejectRoles(node, int(ActorRole.ORACLE), sender=auditor)
    assert receipt.events == [registry.RolesRejected(node, int(ActorRole.ORACLE), auditor)]
    record = registry.getNode(node)
    assert record.pendingRoles == int(ActorRole.ENCLAVE)
    assert record.roles == 0
    assert len(record.blsKey) == 256


def test_register_twice_reverts(registry: Any, accounts: Any) -> None:
    register(registry, accounts[6], ActorRole.MTD)
    with ape.reverts(registry.AlreadyRegistered, node=accounts[6].address):
        register(registry, accounts[6], ActorRole.MTD)


@pytest.mark.parametrize(
    ("roles", "error"),
    [(0, "NoRoles"), (1 << 22, "UnknownRoles"), ((1 << 63) | 1, "UnknownRoles")],
)
def test_register_rejects_bad_role_sets(registry: Any, accounts: Any, roles: int, error: str) -> None:
    with ape.reverts(getattr(registry, error)):
        register(registry, accounts[6], roles)


@pytest.mark.parametrize(
    "key",
    [
        b"",
        b"\x02" + b"\x01" * 31,  # too short
        b"\x04" + b"\x01" * 32,  # wrong prefix for 33 bytes
        b"\x02" + SECP256K1_P.to_bytes(32, "big"),  # x >= p
        b"\x02" + (5).to_bytes(32, "big"),  # x^3 + 7 = 132 is not a square mod p: no point with x = 5
        coincurve.PrivateKey().public_key.format(compressed=False),  # uncompressed, 65 bytes
    ],
    ids=["empty", "short", "prefix", "x-out-of-field", "not-on-curve", "uncompressed"],
)
def test_register_rejects_invalid_encryption_keys(registry: Any, accounts: Any, key: bytes) -> None:
    with ape.reverts(registry.InvalidEncryptionKey):
        register(registry, accounts[6], ActorRole.MTD, encryptionKey=key)


@pytest.mark.parametrize(
    "key",
    [
        b"\x01" * 48,  # compressed encodings are not EIP-2537
        bytes(128),  # point at infinity
        _fp(1) + _fp(1),  # (1, 1) is not on G1
        bytes(64) + _fp(1) + bytes(128),  # garbage G2
        b"\xff" * 128,  # non-canonical field elements
    ],
    ids=["length", "infinity", "g1-off-curve", "g2-off-curve", "non-canonical"],
)
def test_register_rejects_invalid_bls_keys(registry: Any, accounts: Any, key: bytes) -> None:
    with ape.reverts(registry.InvalidBlsKey):
        register(registry, accounts[6], ActorRole.MTD, blsKey=key)


@pytest.mark.parametrize(
    "endpoint",
    ["x", "127.0.0.1:8801", "://host", "HTTP://host", "http:/host", "http://a b", "http://" + "a" * 250],
    ids=["short", "no-scheme", "empty-scheme", "upper-scheme", "one-slash", "space", "too-long"],
)
def test_register_rejects_invalid_endpoints(registry: Any, accounts: Any, endpoint: str) -> None:
    with ape.reverts(registry.InvalidEndpoint):
        register(registry, accounts[6], ActorRole.MTD, endpoint=endpoint)


def test_register_accepts_other_schemes(registry: Any, accounts: Any) -> None:
    register(registry, accounts[6], ActorRole.ONION_ROUTER, endpoint="tcp://127.0.0.1:9001")
    assert registry.getNode(accounts[6]).endpoint == "tcp://127.0.0.1:9001"


def test_a_pure_client_registers_without_an_endpoint(registry: Any, accounts: Any) -> None:
    register(registry, accounts[6], ActorRole.MTD, endpoint="")
    assert registry.getNode(accounts[6]).endpoint == ""
    assert registry.isActive(accounts[6], int(ActorRole.MTD))


def test_register_rejects_an_oversized_ip(registry: Any, accounts: Any) -> None:
    with ape.reverts(registry.InvalidResources):
        register(registry, accounts[6], ActorRole.CSN, resources=("1" * 65, 1, 1, 1, 1))


# -------------------------------------------------------------------------------- the node's own changes


def test_request_and_renounce_roles(registry: Any, accounts: Any) -> None:
    node = accounts[6]
    register(registry, node, ActorRole.MTD)
    receipt = registry.requestRoles(int(ActorRole.AVATAR | ActorRole.CSN), sender=node)
    assert receipt.events == [registry.RolesRequested(node, int(ActorRole.AVATAR), int(ActorRole.CSN))]
    assert registry.isActive(node, int(ActorRole.AVATAR))
    receipt = registry.renounceRoles(int(ActorRole.AVATAR | ActorRole.CSN), sender=node)
    assert receipt.events == [registry.RolesRenounced(node, int(ActorRole.AVATAR | ActorRole.CSN))]
    record = registry.getNode(node)
    assert record.roles == int(ActorRole.MTD)
    assert record.pendingRoles == 0


def test_request_roles_rejects_bad_input(registry: Any, accounts: Any) -> None:
    with ape.reverts(registry.NotRegistered, node=accounts[6].address):
        registry.requestRoles(int(ActorRole.MTD), sender=accounts[6])
    register(registry, accounts[6], ActorRole.MTD)
    with ape.reverts(registry.NoRoles):
        registry.requestRoles(0, sender=accounts[6])
    with ape.reverts(registry.UnknownRoles):
        registry.requestRoles(1 << 30, sender=accounts[6])


def test_updates_emit_events(registry: Any, accounts: Any) -> None:
    node = accounts[6]
    register(registry, node, ActorRole.CSN)
    receipt = registry.updateEndpoint("https://csn.example:443/rpc", sender=node)
    assert receipt.events == [registry.EndpointUpdated(node, "https://csn.example:443/rpc")]
    receipt = registry.updateResources(("10.0.0.8", 16, 32_768, 1_024, 10_000), sender=node)
    assert receipt.events[0].event_name == "ResourcesUpdated"
    assert registry.getNode(node).resources.cpuCores == 16
    new_key, new_bls = enc_key(), bls_g1(11)
    receipt = registry.updateKeys(new_key, new_bls, sender=node)
    assert receipt.events == [registry.KeysUpdated(node, new_key, new_bls)]
    assert registry.getNode(node).encryptionKey == new_key


def test_updates_validate_their_input(registry: Any, accounts: Any) -> None:
    node = accounts[6]
    for call in (
        lambda: registry.updateEndpoint("http://x", sender=node),
        lambda: registry.updateResources(RESOURCES, sender=node),
        lambda: registry.updateKeys(enc_key(), b"", sender=node),
        lambda: registry.renounceRoles(1, sender=node),
        lambda: registry.deregister(sender=node),
    ):
        with ape.reverts(registry.NotRegistered):
            call()
    register(registry, node, ActorRole.CSN)
    with ape.reverts(registry.InvalidEndpoint):
        registry.updateEndpoint("nowhere", sender=node)
    with ape.reverts(registry.InvalidResources):
        registry.updateResources(("9" * 100, 1, 1, 1, 1), sender=node)
    with ape.reverts(registry.InvalidEncryptionKey):
        registry.updateKeys(b"\x02" + bytes(32), b"", sender=node)
    with ape.reverts(registry.InvalidBlsKey):
        registry.updateKeys(enc_key(), bytes(128), sender=node)


def test_deregister_and_register_again(registry: Any, accounts: Any) -> None:
    node = accounts[6]
    register(registry, node, ActorRole.MTD)
    count = registry.listedCount()
    receipt = registry.deregister(sender=node)
    assert receipt.events == [registry.NodeDeregistered(node)]
    assert registry.getNode(node).status == DEREGISTERED
    assert not registry.isActive(node, 0)
    register(registry, node, ActorRole.AVATAR)
    assert registry.isActive(node, int(ActorRole.AVATAR))
    assert registry.listedCount() == count  # listed once, however often it registers


# -------------------------------------------------------------------------------- auditor and admin


def test_only_the_auditor_approves_or_rejects(registry: Any, accounts: Any) -> None:
    node, stranger = accounts[6], accounts[9]
    register(registry, node, ActorRole.CSN)
    role = registry.AUDITOR_ROLE()
    with ape.reverts(registry.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        registry.approveRoles(node, int(ActorRole.CSN), sender=stranger)
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.rejectRoles(node, int(ActorRole.CSN), sender=stranger)


def test_approve_and_reject_need_pending_roles(registry: Any, accounts: Any, auditor: Any) -> None:
    node = accounts[6]
    with ape.reverts(registry.NotRegistered):
        registry.approveRoles(node, int(ActorRole.CSN), sender=auditor)
    with ape.reverts(registry.NotRegistered):
        registry.rejectRoles(node, int(ActorRole.CSN), sender=auditor)
    register(registry, node, ActorRole.CSN)
    for roles in (0, int(ActorRole.ORACLE), int(ActorRole.CSN | ActorRole.ORACLE)):
        with ape.reverts(registry.RolesNotPending, node=node.address, roles=roles):
            registry.approveRoles(node, roles, sender=auditor)
        with ape.reverts(registry.RolesNotPending):
            registry.rejectRoles(node, roles, sender=auditor)


def test_admin_sets_permissioned_roles(registry: Any, deployer: Any, accounts: Any) -> None:
    receipt = registry.setPermissionedRoles(int(ActorRole.CSN), sender=deployer)
    assert receipt.events == [registry.PermissionedRolesSet(int(ActorRole.CSN))]
    register(registry, accounts[6], ActorRole.ORACLE)  # no longer permissioned: granted at once
    assert registry.isActive(accounts[6], int(ActorRole.ORACLE))
    with ape.reverts(registry.UnknownRoles):
        registry.setPermissionedRoles(1 << 50, sender=deployer)
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.setPermissionedRoles(0, sender=accounts[6])


def test_access_control_grant_revoke_renounce(registry: Any, deployer: Any, accounts: Any) -> None:
    role, member = registry.BLACKLISTER_ROLE(), accounts[9]
    assert registry.getRoleAdmin(role) == registry.DEFAULT_ADMIN_ROLE()
    registry.grantRole(role, member, sender=deployer)
    assert registry.hasRole(role, member)
    registry.revokeRole(role, member, sender=deployer)
    assert not registry.hasRole(role, member)
    registry.grantRole(role, member, sender=deployer)
    with ape.reverts(registry.AccessControlBadConfirmation):
        registry.renounceRole(role, deployer, sender=member)
    registry.renounceRole(role, member, sender=member)
    assert not registry.hasRole(role, member)


# -------------------------------------------------------------------------------- blacklisting


def test_blacklisting_removes_a_node_for_good(registry: Any, deployer: Any, accounts: Any) -> None:
    system_contract, node = accounts[9], accounts[6]
    registry.grantRole(registry.BLACKLISTER_ROLE(), system_contract, sender=deployer)
    register(registry, node, ActorRole.MTD)
    reason = b"wrong-share".ljust(32, b"\0")
    receipt = registry.blacklist(node, reason, sender=system_contract)
    assert receipt.events == [registry.NodeBlacklisted(node, system_contract, reason)]
    assert registry.getNode(node).status == BLACKLISTED
    assert not registry.isActive(node, 0)
    with ape.reverts(registry.NodeIsBlacklisted, node=node.address):
        register(registry, node, ActorRole.MTD)
    with ape.reverts(registry.NodeIsBlacklisted):
        registry.updateEndpoint("http://elsewhere", sender=node)
    with ape.reverts(registry.NodeIsBlacklisted):
        registry.blacklist(node, reason, sender=system_contract)


def test_blacklist_needs_the_role_and_a_known_node(registry: Any, deployer: Any, accounts: Any) -> None:
    with ape.reverts(registry.AccessControlUnauthorizedAccount):
        registry.blacklist(accounts[6], bytes(32), sender=deployer)
    registry.grantRole(registry.BLACKLISTER_ROLE(), deployer, sender=deployer)
    with ape.reverts(registry.NotRegistered, node=accounts[6].address):
        registry.blacklist(accounts[6], bytes(32), sender=deployer)


# -------------------------------------------------------------------------------- discovery


def test_discovery_pages_through_active_nodes_with_roles(registry: Any, accounts: Any, auditor: Any) -> None:
    csns = [accounts[i] for i in (6, 7, 8)]
    for node in csns:
        register(registry, node, ActorRole.CSN)
    registry.approveRoles(csns[0], int(ActorRole.CSN), sender=auditor)
    registry.approveRoles(csns[2], int(ActorRole.CSN), sender=auditor)
    registry.deregister(sender=csns[2])
    register(registry, accounts[9], ActorRole.MTD)
    total = registry.listedCount()
    assert total == 4
    found, offset = [], 0
    while offset < total:
        page, offset = registry.nodesWithRoles(int(ActorRole.CSN), offset, 2)
        found.extend(page)
    assert found == [csns[0].address]  # pending and deregistered nodes are not served
    page, nxt = registry.nodesWithRoles(0, 0, 2**256 - 1)  # huge limits do not overflow
    assert len(page) == 3
    assert nxt == total
    assert registry.nodesWithRoles(0, total + 5, 10) == ([], total)
    assert registry.nodesWithRoles(0, 1, 0) == ([], 1)


def test_view_gas(registry: Any, measure_view: Any, accounts: Any) -> None:
    node = accounts[6]
    register(registry, node, ActorRole.CSN, blsKey=bls_g1())
    for function, args in [
        ("getNode", (node,)),
        ("isActive", (node, int(ActorRole.CSN))),
        ("listedCount", ()),
        ("nodesWithRoles", (0, 0, 100)),
        ("knownRoles", ()),
        ("permissionedRoles", ()),
        ("hasRole", (bytes(32), node)),
        ("getRoleAdmin", (bytes(32),)),
        ("supportsInterface", (b"\x01\xff\xc9\xa7",)),
        ("AUDITOR_ROLE", ()),
        ("BLACKLISTER_ROLE", ()),
        ("DEFAULT_ADMIN_ROLE", ()),
        ("MAX_ENDPOINT_LENGTH", ()),
        ("MAX_IP_LENGTH", ()),
    ]:
        assert measure_view(registry, function, *args) > 21_000
