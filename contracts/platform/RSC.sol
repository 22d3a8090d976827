// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ActorRoles} from "./ActorRoles.sol";

/// @title RSC: the registration smart contract, one identity registry for every actor of every system
/// @notice Meta-BMEOC (seed 000, §IV.C) names the RSC: "identity registration functions for both the MTD and
///         CSNs" on a permissioned chain with "stringent registration and auditing processes" where "any node
///         identified as malicious is promptly removed". metatrust widens it to every actor of the five
///         systems: agents read each other's endpoints and encryption keys from here, never from
///         hard-coded ports.
/// @dev Identity: the paper's ID = H(pk). On the EVM the sender address is keccak256(pk)[12:], and the
///      transaction signature is the paper's registration signature Sig_{TX_r}. Roles marked permissioned
///      stay pending until an auditor approves them; only contracts holding BLACKLISTER_ROLE (the systems'
///      settlement contracts) can blacklist. A blacklisted address can never register again.
contract RSC is AccessControl {
    /// @notice May approve or reject pending permissioned roles.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// @notice May blacklist nodes (granted to system contracts after verified misbehaviour).
    bytes32 public constant BLACKLISTER_ROLE = keccak256("BLACKLISTER_ROLE");

    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    uint256 public constant MAX_IP_LENGTH = 64;

    /// @dev secp256k1 field prime.
    uint256 private constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    address private constant MODEXP = address(0x05);
    address private constant BLS12_G1ADD = address(0x0b);
    address private constant BLS12_G2ADD = address(0x0d);
    uint256 private constant BLS_G1_LENGTH = 128; // EIP-2537 encoding of a G1 point
    uint256 private constant BLS_G2_LENGTH = 256; // EIP-2537 encoding of a G2 point

    enum Status {
        Unregistered,
        Active,
        Deregistered,
        Blacklisted
    }

    /// @notice The resource tuple (IP, R_CPU, R_RAM, R_Storage, R_Network) of seed 000, §IV.A.1.
    struct Resources {
        string ip;
        uint32 cpuCores;
        uint32 ramMiB;
        uint32 storageGiB;
        uint32 networkMbps;
    }

    struct Node {
        Status status;
        uint64 roles; // granted roles (ActorRoles bits)
        uint64 pendingRoles; // permissioned roles awaiting an auditor
        uint64 registeredAt; // block timestamp of the (latest) registration
        bytes32 provider; // operator / owner id (collusion-diversity rules select across providers)
        bytes encryptionKey; // compressed secp256k1 public key (33 bytes) for ECIES
        bytes blsKey; // empty, or an EIP-2537 G1 (128 bytes) or G2 (256 bytes) point
        string endpoint; // URL where the node's agent answers, e.g. http://127.0.0.1:8801; empty: none
        Resources resources;
    }

    /// @notice Roles that need an auditor's approval before they count.
    uint64 public permissionedRoles;

    mapping(address node => Node) private _nodes;
    address[] private _listed;

    error ZeroAddress();
    error AlreadyRegistered(address node);
    error NotRegistered(address node);
    error NodeIsBlacklisted(address node);
    error NoRoles();
    error UnknownRoles(uint64 roles);
    error RolesNotPending(address node, uint64 roles);
    error InvalidEncryptionKey();
    error InvalidBlsKey();
    error InvalidEndpoint();
    error InvalidResources();

    event NodeRegistered(
        address indexed node, uint64 roles, uint64 pendingRoles, bytes32 indexed provider, string endpoint
    );
    event RolesRequested(address indexed node, uint64 granted, uint64 pending);
    event RolesApproved(address indexed node, uint64 roles, address indexed auditor);
    event RolesRejected(address indexed node, uint64 roles, address indexed auditor);
    event RolesRenounced(address indexed node, uint64 roles);
    event EndpointUpdated(address indexed node, string endpoint);
    event ResourcesUpdated(address indexed node, Resources resources);
    event KeysUpdated(address indexed node, bytes encryptionKey, bytes blsKey);
    event NodeDeregistered(address indexed node);
    event NodeBlacklisted(address indexed node, address indexed by, bytes32 reason);
    event PermissionedRolesSet(uint64 roles);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (a consortium multisig on a testnet).
    /// @param auditor First holder of AUDITOR_ROLE (may be the admin).
    /// @param permissioned Role bits that need an auditor's approval.
    constructor(address admin, address auditor, uint64 permissioned) {
        if (admin == address(0) || auditor == address(0)) revert ZeroAddress();
        _checkKnown(permissioned);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(AUDITOR_ROLE, auditor);
        permissionedRoles = permissioned;
        emit PermissionedRolesSet(permissioned);
    }

    // ------------------------------------------------------------------ registration (the node itself)

    /// @notice Registers the sender (TX_r of seed 000). Open roles are granted at once; permissioned ones
    ///         wait for an auditor.
    /// @param roles Requested role bits (ActorRoles).
    /// @param encryptionKey Compressed secp256k1 public key (33 bytes) that peers encrypt to.
    /// @param blsKey Empty, or an EIP-2537-encoded BLS12-381 G1 or G2 public key (checked on the curve).
    /// @param endpoint URL of the node's agent ("scheme://…", at most MAX_ENDPOINT_LENGTH bytes), or empty
    ///        for a pure client that serves nothing.
    /// @param resources The resource tuple (IP, CPU, RAM, storage, network); zeros where not applicable.
    /// @param provider Operator or owner id.
    function register(
        uint64 roles,
        bytes calldata encryptionKey,
        bytes calldata blsKey,
        string calldata endpoint,
        Resources calldata resources,
        bytes32 provider
    ) external {
        Node storage node = _nodes[msg.sender];
        if (node.status == Status.Active) revert AlreadyRegistered(msg.sender);
        if (node.status == Status.Blacklisted) revert NodeIsBlacklisted(msg.sender);
        if (roles == 0) revert NoRoles();
        _checkKnown(roles);
        _checkEncryptionKey(encryptionKey);
        _checkBlsKey(blsKey);
        _checkEndpoint(endpoint);
        _checkResources(resources);

        if (node.status == Status.Unregistered) _listed.push(msg.sender);
        uint64 pending = roles & permissionedRoles;
        node.status = Status.Active;
        node.roles = roles & ~permissionedRoles;
        node.pendingRoles = pending;
        node.registeredAt = uint64(block.timestamp);
        node.provider = provider;
        node.encryptionKey = encryptionKey;
        node.blsKey = blsKey;
        node.endpoint = endpoint;
        node.resources = resources;
        emit NodeRegistered(msg.sender, node.roles, pending, provider, endpoint);
    }

    /// @notice Asks for more roles; open ones are granted at once, permissioned ones wait for an auditor.
    /// @param roles Role bits to add.
    function requestRoles(uint64 roles) external {
        Node storage node = _activeNode(msg.sender);
        if (roles == 0) revert NoRoles();
        _checkKnown(roles);
        uint64 pending = roles & permissionedRoles & ~node.roles;
        uint64 granted = roles & ~permissionedRoles;
        node.roles |= granted;
        node.pendingRoles |= pending;
        emit RolesRequested(msg.sender, granted, pending);
    }

    /// @notice Gives up roles, granted or pending.
    /// @param roles Role bits to drop.
    function renounceRoles(uint64 roles) external {
        Node storage node = _activeNode(msg.sender);
        node.roles &= ~roles;
        node.pendingRoles &= ~roles;
        emit RolesRenounced(msg.sender, roles);
    }

    /// @notice Moves the sender's agent to a new URL.
    /// @param endpoint The new URL.
    function updateEndpoint(string calldata endpoint) external {
        Node storage node = _activeNode(msg.sender);
        _checkEndpoint(endpoint);
        node.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @notice Replaces the sender's resource tuple.
    /// @param resources The new tuple.
    function updateResources(Resources calldata resources) external {
        Node storage node = _activeNode(msg.sender);
        _checkResources(resources);
        node.resources = resources;
        emit ResourcesUpdated(msg.sender, resources);
    }

    /// @notice Rotates the sender's encryption key and BLS key.
    /// @param encryptionKey New compressed secp256k1 key.
    /// @param blsKey New BLS key, or empty.
    function updateKeys(bytes calldata encryptionKey, bytes calldata blsKey) external {
        Node storage node = _activeNode(msg.sender);
        _checkEncryptionKey(encryptionKey);
        _checkBlsKey(blsKey);
        node.encryptionKey = encryptionKey;
        node.blsKey = blsKey;
        emit KeysUpdated(msg.sender, encryptionKey, blsKey);
    }

    /// @notice Leaves the registry. The record stays readable; the node may register again later.
    function deregister() external {
        Node storage node = _activeNode(msg.sender);
        node.status = Status.Deregistered;
        node.roles = 0;
        node.pendingRoles = 0;
        emit NodeDeregistered(msg.sender);
    }

    // ------------------------------------------------------------------ auditors, system contracts, admin

    /// @notice Grants pending permissioned roles.
    /// @param nodeAddress The node.
    /// @param roles Role bits, all of which must be pending.
    function approveRoles(address nodeAddress, uint64 roles) external onlyRole(AUDITOR_ROLE) {
        Node storage node = _activeNode(nodeAddress);
        if (roles == 0 || roles & node.pendingRoles != roles) revert RolesNotPending(nodeAddress, roles);
        node.pendingRoles &= ~roles;
        node.roles |= roles;
        emit RolesApproved(nodeAddress, roles, msg.sender);
    }

    /// @notice Refuses pending permissioned roles.
    /// @param nodeAddress The node.
    /// @param roles Role bits, all of which must be pending.
    function rejectRoles(address nodeAddress, uint64 roles) external onlyRole(AUDITOR_ROLE) {
        Node storage node = _activeNode(nodeAddress);
        if (roles == 0 || roles & node.pendingRoles != roles) revert RolesNotPending(nodeAddress, roles);
        node.pendingRoles &= ~roles;
        emit RolesRejected(nodeAddress, roles, msg.sender);
    }

    /// @notice Removes a misbehaving node for good ("any node identified as malicious is promptly removed").
    /// @param nodeAddress The node.
    /// @param reason A short code, e.g. keccak256 of the evidence or a bytes32 label.
    function blacklist(address nodeAddress, bytes32 reason) external onlyRole(BLACKLISTER_ROLE) {
        Node storage node = _nodes[nodeAddress];
        if (node.status == Status.Unregistered) revert NotRegistered(nodeAddress);
        if (node.status == Status.Blacklisted) revert NodeIsBlacklisted(nodeAddress);
        node.status = Status.Blacklisted;
        node.roles = 0;
        node.pendingRoles = 0;
        emit NodeBlacklisted(nodeAddress, msg.sender, reason);
    }

    /// @notice Sets which roles need an auditor from now on (existing grants are kept).
    /// @param roles Role bits.
    function setPermissionedRoles(uint64 roles) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkKnown(roles);
        permissionedRoles = roles;
        emit PermissionedRolesSet(roles);
    }

    // ------------------------------------------------------------------ views

    /// @notice The full record of a node (status Unregistered and zeros when unknown).
    /// @param nodeAddress The node.
    /// @return The record.
    function getNode(address nodeAddress) external view returns (Node memory) {
        return _nodes[nodeAddress];
    }

    /// @notice Whether a node is active and holds every role in `roles` (granted, not pending).
    /// @param nodeAddress The node.
    /// @param roles Role bits; 0 asks only whether the node is active.
    /// @return True when active with all those roles.
    function isActive(address nodeAddress, uint64 roles) external view returns (bool) {
        Node storage node = _nodes[nodeAddress];
        return node.status == Status.Active && node.roles & roles == roles;
    }

    /// @notice Number of addresses that ever registered (the length of the discovery list).
    /// @return The count.
    function listedCount() external view returns (uint256) {
        return _listed.length;
    }

    /// @notice One page of discovery: active nodes holding every role in `roles`, scanning `limit` list
    ///         entries from `offset`.
    /// @param roles Role bits the nodes must hold.
    /// @param offset First list index to scan.
    /// @param limit Maximum number of list entries to scan.
    /// @return nodes The matching addresses in this page.
    /// @return next The offset of the next page (equal to `listedCount()` when done).
    function nodesWithRoles(uint64 roles, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory nodes, uint256 next)
    {
        uint256 total = _listed.length;
        if (offset >= total || limit == 0) return (new address[](0), offset >= total ? total : offset);
        uint256 end = limit > total - offset ? total : offset + limit;
        address[] memory page = new address[](end - offset);
        uint256 found;
        for (uint256 i = offset; i < end; ++i) {
            address candidate = _listed[i];
            Node storage node = _nodes[candidate];
            if (node.status == Status.Active && node.roles & roles == roles) page[found++] = candidate;
        }
        assembly ("memory-safe") {
            mstore(page, found)
        }
        return (page, end);
    }

    /// @notice Every role bit this registry knows (the ActorRoles mask).
    /// @return The mask.
    function knownRoles() external pure returns (uint64) {
        return ActorRoles.ALL;
    }

    // ------------------------------------------------------------------ checks

    function _activeNode(address nodeAddress) private view returns (Node storage node) {
        node = _nodes[nodeAddress];
        if (node.status == Status.Blacklisted) revert NodeIsBlacklisted(nodeAddress);
        if (node.status != Status.Active) revert NotRegistered(nodeAddress);
    }

    function _checkKnown(uint64 roles) private pure {
        if (roles & ~ActorRoles.ALL != 0) revert UnknownRoles(roles);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        bytes calldata raw = bytes(endpoint);
        if (raw.length == 0) return; // a pure client serves nothing
        if (raw.length < 4 || raw.length > MAX_ENDPOINT_LENGTH) revert InvalidEndpoint();
        // A scheme is required: "<letters>://" with at least one letter.
        uint256 i;
        while (i < raw.length && _isSchemeChar(raw[i])) ++i;
        if (i == 0 || i + 3 > raw.length || raw[i] != ":" || raw[i + 1] != "/" || raw[i + 2] != "/") {
            revert InvalidEndpoint();
        }
        for (uint256 j = i + 3; j < raw.length; ++j) {
            // Printable ASCII without spaces only.
            if (uint8(raw[j]) <= 0x20 || uint8(raw[j]) >= 0x7f) revert InvalidEndpoint();
        }
    }

    function _isSchemeChar(bytes1 c) private pure returns (bool) {
        return (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "+" || c == "-" || c == ".";
    }

    function _checkResources(Resources calldata resources) private pure {
        if (bytes(resources.ip).length > MAX_IP_LENGTH) revert InvalidResources();
    }

    /// @dev A compressed secp256k1 point: prefix 0x02/0x03, x < p and x^3 + 7 a square mod p (Euler's
    ///      criterion through the modexp precompile), so that ECDH to it is possible.
    function _checkEncryptionKey(bytes calldata key) private view {
        if (key.length != 33 || (key[0] != 0x02 && key[0] != 0x03)) revert InvalidEncryptionKey();
        uint256 x = uint256(bytes32(key[1:33]));
        if (x >= SECP256K1_P) revert InvalidEncryptionKey();
        uint256 rhs = addmod(mulmod(mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P);
        (bool ok, bytes memory out) = MODEXP.staticcall(
            abi.encodePacked(uint256(32), uint256(32), uint256(32), rhs, (SECP256K1_P - 1) / 2, SECP256K1_P)
        );
        if (!ok || out.length != 32 || uint256(bytes32(out)) != 1) revert InvalidEncryptionKey();
    }

    /// @dev An EIP-2537 point that the curve-addition precompile accepts (on the curve, field elements
    ///      canonical) and that is not the point at infinity. Subgroup membership is checked by the
    ///      systems that aggregate signatures (proof of possession), not here.
    function _checkBlsKey(bytes calldata key) private view {
        if (key.length == 0) return;
        address precompile;
        if (key.length == BLS_G1_LENGTH) precompile = BLS12_G1ADD;
        else if (key.length == BLS_G2_LENGTH) precompile = BLS12_G2ADD;
        else revert InvalidBlsKey();
        bool allZero = true;
        for (uint256 i; i < key.length; i += 32) {
            if (bytes32(key[i:i + 32]) != bytes32(0)) {
                allZero = false;
                break;
            }
        }
        if (allZero) revert InvalidBlsKey();
        // P + O = P exercises the precompile's on-curve and encoding checks.
        (bool ok,) = precompile.staticcall(bytes.concat(key, new bytes(key.length)));
        if (!ok) revert InvalidBlsKey();
    }
}
