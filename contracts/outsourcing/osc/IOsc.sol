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

interface IOCTVSC {
    function getTask(bytes32 taskId) external view returns (TaskRecord memory);
    function markAccounted(bytes32 taskId) external;
    function markSettled(bytes32 taskId) external;
    function markPaidByDefault(bytes32 taskId) external;
}

interface IRSSC {
    function select(bytes32 taskId, uint256 m, uint256 t, Candidate[] calldata candidates, bytes32 seed)
        external
        returns (address[] memory group, bytes32 salt, bytes32 commitment);
    function groupOf(bytes32 taskId) external view returns (address[] memory);
    function indexOf(bytes32 taskId, address csn) external view returns (uint256);
}

interface IACCSC {
    function mlistOf(bytes32 taskId) external view returns (bool recorded, bool valid, address[] memory mlist);
}

interface ISSC {
    function isBlacklisted(address csn) external view returns (bool);
}
