// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The interfaces the four off-chain contracts of Meta-BMEOC call each other through
/// @notice See `OscBase.sol`: these contracts run in each enclave's in-process EVM, not on the devnet.

/// @notice Lifecycle of a task inside the environment.
enum TaskStatus {
    None,
    Scheduled, // TX_t accepted by OCTVSC, Group_C chosen by RSSC
    Accounted, // ACCSC recorded Algorithm 1's MList
    Settled, // SSC settled by Eq. (14)
    PaidByDefault // SSC paid B_mtd to every CSN (no dispute)
}

/// @notice One CSN the Leader offers RSSC: its address, its provider (owner) id and whether it is eligible
///         (registered, active, not unbonding, idle: facts the Leader reads from RSC and ASC).
struct Candidate {
    address csn;
    bytes32 provider;
    bool eligible;
}

/// @notice What OCTVSC keeps of an accepted task.
struct TaskRecord {
    address mtd;
    uint16 m;
    uint16 t;
    TaskStatus status;
    uint256 deposit;
    bytes32 txDigest;
}

/// @notice OCTVSC as its siblings see it: the task registry and its lifecycle.
interface IOCTVSC {
    /// @notice A task's record (status None when unknown).
    /// @param taskId The task.
    /// @return The record.
    function getTask(bytes32 taskId) external view returns (TaskRecord memory);
    /// @notice Scheduled → Accounted (ACCSC only).
    /// @param taskId The task.
    function markAccounted(bytes32 taskId) external;
    /// @notice Scheduled or Accounted → Settled (SSC only).
    /// @param taskId The task.
    function markSettled(bytes32 taskId) external;
    /// @notice Scheduled → PaidByDefault (SSC only).
    /// @param taskId The task.
    function markPaidByDefault(bytes32 taskId) external;
}

/// @notice RSSC as its siblings see it: the choice of Group_C and the private index map.
interface IRSSC {
    /// @notice Chooses Group_C (OCTVSC only).
    /// @param taskId The task.
    /// @param m The group size.
    /// @param t At most t members per provider.
    /// @param candidates The candidates, strictly ascending by address.
    /// @param seed The Leader's selection seed.
    /// @return group Group_C in index order.
    /// @return salt The commitment's salt.
    /// @return commitment H(Group_C ‖ salt).
    function select(bytes32 taskId, uint256 m, uint256 t, Candidate[] calldata candidates, bytes32 seed)
        external
        returns (address[] memory group, bytes32 salt, bytes32 commitment);
    /// @notice Group_C of a task (empty when unknown).
    /// @param taskId The task.
    /// @return The CSNs in index order.
    function groupOf(bytes32 taskId) external view returns (address[] memory);
    /// @notice The index j of a CSN in a task's group.
    /// @param taskId The task.
    /// @param csn The CSN.
    /// @return j in 1..m, or 0 when not a member.
    function indexOf(bytes32 taskId, address csn) external view returns (uint256);
}

/// @notice ACCSC as SSC sees it: the recorded answer of Algorithm 1.
interface IACCSC {
    /// @notice The recorded answer for a task.
    /// @param taskId The task.
    /// @return recorded Whether Account ran for it.
    /// @return valid Whether TX_acc was valid.
    /// @return mlist MList_CSN (empty when ACC returned 0).
    function mlistOf(bytes32 taskId) external view returns (bool recorded, bool valid, address[] memory mlist);
}

/// @notice SSC as RSSC sees it: the blacklist.
interface ISSC {
    /// @notice Whether a CSN was found malicious (RSSC never schedules it again).
    /// @param csn The CSN.
    /// @return True when blacklisted.
    function isBlacklisted(address csn) external view returns (bool);
}
