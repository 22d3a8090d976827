// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ActorRoles} from "../platform/ActorRoles.sol";
import {RSC} from "../platform/RSC.sol";

/// @title RSMSLedger: the shared ledger of RSMS (seed 002) that records every resource-node authentication
/// @notice RSMS lets a resource node (RN) join a resource pool by proving knowledge of a one-time secret `a`;
///         "all RPMs together maintain a shared blockchain" that holds, for every successful (re-)
///         authentication, the record (H4(a), PID). This contract is that ledger (the paper defines none;
///         spec 002 §4.2). A one-time secret tag or a pseudonym is accepted at most once, whoever submits
///         it and however many pool managers race for it: the check and the set happen in one
///         transaction, so of two submissions of the same tag or PID exactly one is mined successfully.
///         The MSRP also revokes pseudonyms (a revoked PID is never recorded again) and anchors the
///         digest of each Bloom-filter batch it delivers to a pool.
/// @dev Writers: the manager of the pool named in the record, which must hold the POOL_MANAGER role in
///      the registry (RSC) at the time of the call (the paper's Claim 7: "the RPM will store its PID"),
///      or a holder of MSRP_ROLE (the paper's §IV.A.2: "MSRP will verify and store it"); both take the
///      same path. Tags are H4(a) (32 bytes); pseudonyms are opaque bytes (PID_1 is a 48-byte compressed
///      G1 point, later PIDs are 32-byte scalars) keyed by keccak256 and emitted in full in the event.
contract RSMSLedger is AccessControl {
    /// @notice The MSRP: opens and closes pools, revokes pseudonyms, anchors Bloom-filter digests, and may
    ///         record authentications itself.
    bytes32 public constant MSRP_ROLE = keccak256("RSMS_MSRP_ROLE");

    /// @notice Longest accepted pseudonym in bytes (an uncompressed G1 point is 96 bytes).
    uint256 public constant MAX_PSEUDONYM_LENGTH = 96;

    /// @notice One resource pool: its manager (RPM), whether it accepts records, and its latest
    ///         Bloom-filter anchor.
    struct Pool {
        address manager;
        bool open;
        uint64 bloomVersion; // number of Bloom-filter digests anchored so far (0: none)
        bytes32 bloomDigest; // the latest digest (zero when none)
    }

    /// @notice One authentication record, keyed by its tag H4(a). Two storage slots: the record's position
    ///         in recording order is in its event only.
    struct Record {
        bytes32 pidKey; // keccak256 of the pseudonym bytes
        uint32 poolId;
        uint64 timestamp;
        address writer;
    }

    /// @notice The registry whose POOL_MANAGER role a pool manager must hold.
    RSC public immutable registry;

    /// @notice Number of records so far (the next record's index).
    uint64 public recordCount;

    mapping(uint32 poolId => Pool) private _pools;
    mapping(uint32 poolId => mapping(uint64 version => bytes32 digest)) private _bloomDigests;
    mapping(bytes32 tag => Record) private _records;
    mapping(bytes32 pidKey => bytes32 tag) private _tagOfPid;
    mapping(bytes32 pidKey => bool) private _revoked;

    error ZeroAddress();
    /// @param account An address that is not an active POOL_MANAGER in the registry.
    error NotPoolManager(address account);
    error PoolAlreadyOpen(uint32 poolId);
    error PoolNotOpen(uint32 poolId);
    /// @param caller Neither the pool's manager nor an MSRP.
    error NotAuthorizedWriter(address caller, uint32 poolId);
    error ZeroTag();
    error ZeroDigest();
    error InvalidPseudonymLength(uint256 length);
    /// @notice The one-time secret behind `tag` was already used: a replay.
    error SecretAlreadyUsed(bytes32 tag);
    /// @notice The pseudonym was already recorded: a replay.
    error PseudonymAlreadyUsed(bytes32 pidKey);
    error PseudonymIsRevoked(bytes32 pidKey);
    error AlreadyRevoked(bytes32 pidKey);

    event PoolOpened(uint32 indexed poolId, address indexed manager);
    event PoolManagerChanged(uint32 indexed poolId, address indexed previous, address indexed manager);
    event PoolClosed(uint32 indexed poolId);
    /// @notice One (H4(a), PID) record; replaying these events rebuilds the whole history.
    event AuthenticationRecorded(
        bytes32 indexed tag, bytes32 indexed pidKey, uint32 indexed poolId, bytes pid, address writer, uint64 index
    );
    event PseudonymRevoked(bytes32 indexed pidKey, bytes pid, address indexed by);
    event BloomDigestAnchored(uint32 indexed poolId, uint64 indexed version, bytes32 digest);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants and revokes MSRP_ROLE).
    /// @param msrp First holder of MSRP_ROLE (may be the admin).
    /// @param registry_ The actor registry (RSC) that vouches for pool managers.
    constructor(address admin, address msrp, RSC registry_) {
        if (admin == address(0) || msrp == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MSRP_ROLE, msrp);
    }

    // ------------------------------------------------------------------------------------------- pools

    /// @notice Opens (or reopens) a pool under a manager that holds POOL_MANAGER in the registry.
    /// @param poolId The pool.
    /// @param manager Its resource pool manager (RPM).
    function openPool(uint32 poolId, address manager) external onlyRole(MSRP_ROLE) {
        Pool storage pool = _pools[poolId];
        if (pool.open) revert PoolAlreadyOpen(poolId);
        _checkManager(manager);
        pool.manager = manager;
        pool.open = true;
        emit PoolOpened(poolId, manager);
    }

    /// @notice Hands an open pool to another manager (e.g. after the old one was blacklisted).
    /// @param poolId The pool.
    /// @param manager The new manager (an active POOL_MANAGER).
    function setPoolManager(uint32 poolId, address manager) external onlyRole(MSRP_ROLE) {
        Pool storage pool = _openPool(poolId);
        _checkManager(manager);
        address previous = pool.manager;
        pool.manager = manager;
        emit PoolManagerChanged(poolId, previous, manager);
    }

    /// @notice Stops a pool from taking records; its history and anchors stay.
    /// @param poolId The pool.
    function closePool(uint32 poolId) external onlyRole(MSRP_ROLE) {
        Pool storage pool = _openPool(poolId);
        pool.open = false;
        emit PoolClosed(poolId);
    }

    /// @notice Anchors the digest (e.g. SHA-256) of a Bloom-filter batch delivered to a pool; versions
    ///         count from 1.
    /// @param poolId The pool (must be open).
    /// @param digest The batch digest.
    /// @return version The version number given to this digest.
    function anchorBloomDigest(uint32 poolId, bytes32 digest) external onlyRole(MSRP_ROLE) returns (uint64 version) {
        Pool storage pool = _openPool(poolId);
        if (digest == bytes32(0)) revert ZeroDigest();
        version = pool.bloomVersion + 1;
        pool.bloomVersion = version;
        pool.bloomDigest = digest;
        _bloomDigests[poolId][version] = digest;
        emit BloomDigestAnchored(poolId, version, digest);
    }

    // ----------------------------------------------------------------------------------------- records

    /// @notice Records a successful authentication (H4(a), PID) in pool `poolId`: checks that neither
    ///         the tag nor the pseudonym was ever recorded and that the pseudonym is not revoked, then marks
    ///         both used, in one step.
    /// @param poolId The pool where the RN authenticated (must be open).
    /// @param tag H4(a) of the consumed one-time secret.
    /// @param pid The consumed pseudonym PID (1 to MAX_PSEUDONYM_LENGTH bytes).
    /// @return index The record's position in recording order.
    function recordAuthentication(uint32 poolId, bytes32 tag, bytes calldata pid) external returns (uint64 index) {
        Pool storage pool = _openPool(poolId);
        if (msg.sender != pool.manager && !hasRole(MSRP_ROLE, msg.sender)) {
            revert NotAuthorizedWriter(msg.sender, poolId);
        }
        if (msg.sender == pool.manager) _checkManager(msg.sender); // still an active RPM in the registry
        if (tag == bytes32(0)) revert ZeroTag();
        bytes32 pidKey = _pidKey(pid);
        if (_revoked[pidKey]) revert PseudonymIsRevoked(pidKey);
        Record storage record = _records[tag];
        if (record.writer != address(0)) revert SecretAlreadyUsed(tag);
        if (_tagOfPid[pidKey] != bytes32(0)) revert PseudonymAlreadyUsed(pidKey);

        index = recordCount;
        recordCount = index + 1;
        record.pidKey = pidKey;
        record.poolId = poolId;
        record.timestamp = uint64(block.timestamp);
        record.writer = msg.sender;
        _tagOfPid[pidKey] = tag;
        emit AuthenticationRecorded(tag, pidKey, poolId, pid, msg.sender, index);
    }

    /// @notice Revokes a pseudonym for good: it can never be recorded again (RPMs also refuse it).
    /// @param pid The pseudonym (recorded or not yet).
    function revoke(bytes calldata pid) external onlyRole(MSRP_ROLE) {
        bytes32 pidKey = _pidKey(pid);
        if (_revoked[pidKey]) revert AlreadyRevoked(pidKey);
        _revoked[pidKey] = true;
        emit PseudonymRevoked(pidKey, pid, msg.sender);
    }

    // ------------------------------------------------------------------------------------------- views

    /// @notice Whether a one-time secret tag H4(a) was recorded.
    /// @param tag The tag.
    /// @return True when used.
    function isTagUsed(bytes32 tag) external view returns (bool) {
        return _records[tag].writer != address(0);
    }

    /// @notice Whether a pseudonym was recorded.
    /// @param pid The pseudonym bytes.
    /// @return True when used.
    function isPidUsed(bytes calldata pid) external view returns (bool) {
        return _tagOfPid[keccak256(pid)] != bytes32(0);
    }

    /// @notice Whether a pseudonym is revoked.
    /// @param pid The pseudonym bytes.
    /// @return True when revoked.
    function isRevoked(bytes calldata pid) external view returns (bool) {
        return _revoked[keccak256(pid)];
    }

    /// @notice The three checks an RPM makes before accepting (tag used, PID used, PID revoked), in one call.
    /// @param tag H4(a').
    /// @param pid The presented pseudonym.
    /// @return tagUsed Whether the tag was recorded.
    /// @return pidUsed Whether the pseudonym was recorded.
    /// @return revoked Whether the pseudonym is revoked.
    function checkAuthentication(bytes32 tag, bytes calldata pid)
        external
        view
        returns (bool tagUsed, bool pidUsed, bool revoked)
    {
        bytes32 pidKey = keccak256(pid);
        return (_records[tag].writer != address(0), _tagOfPid[pidKey] != bytes32(0), _revoked[pidKey]);
    }

    /// @notice The record of a tag (all zero when absent).
    /// @param tag The tag H4(a).
    /// @return The record.
    function recordOf(bytes32 tag) external view returns (Record memory) {
        return _records[tag];
    }

    /// @notice The tag recorded with a pseudonym (zero when none): binds PID_k to H4(a_k) for the strict
    ///         re-authentication check of spec 002 §8 item 15.
    /// @param pid The pseudonym bytes.
    /// @return The tag.
    function tagOfPseudonym(bytes calldata pid) external view returns (bytes32) {
        return _tagOfPid[keccak256(pid)];
    }

    /// @notice A pool's manager, state and latest Bloom-filter anchor.
    /// @param poolId The pool.
    /// @return The pool (zero when never opened).
    function poolInfo(uint32 poolId) external view returns (Pool memory) {
        return _pools[poolId];
    }

    /// @notice The Bloom-filter digest anchored for a pool under a version (zero when none).
    /// @param poolId The pool.
    /// @param version The version, from 1.
    /// @return The digest.
    function bloomDigestAt(uint32 poolId, uint64 version) external view returns (bytes32) {
        return _bloomDigests[poolId][version];
    }

    // ----------------------------------------------------------------------------------------- private

    function _openPool(uint32 poolId) private view returns (Pool storage pool) {
        pool = _pools[poolId];
        if (!pool.open) revert PoolNotOpen(poolId);
    }

    function _checkManager(address manager) private view {
        if (manager == address(0)) revert ZeroAddress();
        if (!registry.isActive(manager, ActorRoles.POOL_MANAGER)) revert NotPoolManager(manager);
    }

    function _pidKey(bytes calldata pid) private pure returns (bytes32) {
        if (pid.length == 0 || pid.length > MAX_PSEUDONYM_LENGTH) revert InvalidPseudonymLength(pid.length);
        return keccak256(pid);
    }
}
