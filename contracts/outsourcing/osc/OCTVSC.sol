// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Candidate, IOCTVSC, IRSSC, TaskRecord, TaskStatus} from "./IOsc.sol";
import {OscBase} from "./OscBase.sol";

/// @title OCTVSC: the outsourced computation transaction verification smart contract (spec 000 §2.4, §3.4)
/// @notice Off chain (in every enclave's EVM). Verifies the MTD's TX_t = (ID, ID_T, ID_M, Dep., m, Sig, Other)
///         and, when it is valid, triggers RSSC to choose Group_C ("Upon successful verification, it triggers
///         the RSSC"). Checks, each with its own error:
///         - |ID_T| = m, 1 <= m <= MAX_CSNS, k, d, t >= 1, m < q, m >= (d+1)t + 1 (spec §7 #3);
///         - Dep. >= the minimum deposit and, when the Leader passes it, Dep. = the deposit escrowed in ASC;
///         - the MTD's EIP-191 signature over the TX_t digest (`offchain.outsourcing.task.TaskTransaction`);
///         - the task id is ASC's id of this task, keccak256(chainid, ASC, MTD, H(ID_t)), so the MTD's signature
///           binds the on-chain escrow, and it is fresh (replay protection).
///         The MTD's registration in RSC and its escrow are checked on chain by ASC.openTask, which is the only
///         way that task id can exist there. OCTVSC also holds the task lifecycle that ACCSC and SSC advance.
contract OCTVSC is OscBase, IOCTVSC {
    /// @notice TX_t as the MTD signed it (`TaskTransaction` in Python).
    struct TaskTx {
        bytes32 taskId;
        bytes32[] taskHashes;
        address mtd;
        uint256 deposit;
        uint256 m;
        uint256 k;
        uint256 d;
        uint256 t;
        uint256 q;
        bytes32 polynomialDigest;
        uint256 timestamp;
        bytes signature;
    }

    /// @notice Domain tag of the TX_t digest (`offchain.outsourcing.task.TX_TAG`).
    bytes public constant TX_TAG = "metatrust/bmeoc/TX_t/v1";
    /// @notice Largest group (ASC.MAX_CSNS).
    uint256 public constant MAX_CSNS = 64;

    /// @notice The ASC whose task ids OCTVSC accepts.
    address public asc;
    /// @notice The MSC environment this runtime belongs to.
    uint256 public envId;
    /// @notice The minimum deposit Dep.
    uint256 public minDeposit;

    mapping(bytes32 taskId => TaskRecord) private _tasks;

    error WrongTaskHashCount(uint256 count, uint256 m);
    error InvalidTaskParameters(uint256 k, uint256 d, uint256 t, uint256 q);
    error TooFewServers(uint256 m, uint256 required);
    error TooManyServers(uint256 m, uint256 maximum);
    error DepositTooLow(uint256 deposit, uint256 minimum);
    error DepositMismatch(uint256 escrowed, uint256 deposit);
    error InvalidSignature();
    error SignerMismatch(address signer, address mtd);
    error TaskIdMismatch(bytes32 expected, bytes32 given);
    error TaskReplayed(bytes32 taskId);
    error WrongTaskStatus(bytes32 taskId, TaskStatus status);

    /// @notice TX_t was accepted and Group_C chosen (only inside the enclave's EVM: never on chain).
    event TaskAccepted(bytes32 indexed taskId, address indexed mtd, uint256 deposit, uint256 m, bytes32 commitment);
    /// @notice The task moved to a new status.
    event TaskStatusChanged(bytes32 indexed taskId, TaskStatus status);

    /// @param asc_ The ASC address (task ids).
    /// @param envId_ The MSC environment id.
    /// @param minDeposit_ The minimum deposit (>= 1).
    constructor(address asc_, uint256 envId_, uint256 minDeposit_) {
        if (asc_ == address(0)) revert ZeroAddress();
        if (minDeposit_ == 0) revert DepositTooLow(0, 1);
        asc = asc_;
        envId = envId_;
        minDeposit = minDeposit_;
    }

    /// @notice ScheduleTask: verifies TX_t, then has RSSC choose Group_C.
    /// @param txt TX_t.
    /// @param candidates The CSNs RSSC may choose from, strictly ascending by address.
    /// @param seed The Leader's selection seed (the same in every enclave).
    /// @param escrowed The deposit ASC escrowed for this task, or 0 when the Leader does not check it.
    /// @return group Group_C, index j = position + 1.
    /// @return salt The salt of the group commitment.
    /// @return commitment H(Group_C ‖ salt) for ASC.anchorSchedule.
    function schedule(TaskTx calldata txt, Candidate[] calldata candidates, bytes32 seed, uint256 escrowed)
        external
        onlyOperator
        returns (address[] memory group, bytes32 salt, bytes32 commitment)
    {
        bytes32 digest = _verify(txt, escrowed);
        TaskRecord storage task = _tasks[txt.taskId];
        if (task.status != TaskStatus.None) revert TaskReplayed(txt.taskId);
        task.mtd = txt.mtd;
        task.m = uint16(txt.m);
        task.t = uint16(txt.t);
        task.status = TaskStatus.Scheduled;
        task.deposit = txt.deposit;
        task.txDigest = digest;
        (group, salt, commitment) = IRSSC(rssc).select(txt.taskId, txt.m, txt.t, candidates, seed);
        emit TaskAccepted(txt.taskId, txt.mtd, txt.deposit, txt.m, commitment);
        _transition("schedule", keccak256(abi.encode(txt.taskId, digest, commitment)));
    }

    /// @notice The digest the MTD signs (EIP-191), as `TaskTransaction.digest()` computes it.
    /// @param txt TX_t.
    /// @return The keccak256 digest.
    function txDigest(TaskTx calldata txt) public pure returns (bytes32) {
        bytes memory head = abi.encodePacked(TX_TAG, txt.taskId, txt.mtd, txt.deposit, txt.m, txt.k);
        bytes memory tail = abi.encodePacked(
            txt.d, txt.t, txt.q, txt.polynomialDigest, txt.timestamp, keccak256(abi.encodePacked(txt.taskHashes))
        );
        return keccak256(bytes.concat(head, tail));
    }

    /// @notice ASC's id of a task: keccak256(abi.encode(chainid, ASC, MTD, H(ID_t))).
    /// @param mtd The MTD.
    /// @param taskHashes ID_t (the m subtask ids in index order).
    /// @return The task id.
    function ascTaskId(address mtd, bytes32[] calldata taskHashes) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, asc, mtd, keccak256(abi.encodePacked(taskHashes))));
    }

    /// @notice A task's record (status None when unknown).
    /// @param taskId The task.
    /// @return The record.
    function getTask(bytes32 taskId) external view returns (TaskRecord memory) {
        return _tasks[taskId];
    }

    /// @notice ACCSC recorded the task's MList.
    /// @param taskId The task (must be Scheduled).
    function markAccounted(bytes32 taskId) external onlyFrom(accsc) {
        _move(taskId, TaskStatus.Scheduled, TaskStatus.Scheduled, TaskStatus.Accounted);
    }

    /// @notice SSC settled the task.
    /// @param taskId The task (Scheduled or Accounted).
    function markSettled(bytes32 taskId) external onlyFrom(ssc) {
        _move(taskId, TaskStatus.Scheduled, TaskStatus.Accounted, TaskStatus.Settled);
    }

    /// @notice SSC paid the task by default.
    /// @param taskId The task (must be Scheduled).
    function markPaidByDefault(bytes32 taskId) external onlyFrom(ssc) {
        _move(taskId, TaskStatus.Scheduled, TaskStatus.Scheduled, TaskStatus.PaidByDefault);
    }

    function _move(bytes32 taskId, TaskStatus from1, TaskStatus from2, TaskStatus to) private {
        TaskRecord storage task = _tasks[taskId];
        TaskStatus status = task.status;
        if (status != from1 && status != from2) revert WrongTaskStatus(taskId, status);
        task.status = to;
        emit TaskStatusChanged(taskId, to);
        _transition("status", keccak256(abi.encode(taskId, to)));
    }

    function _verify(TaskTx calldata txt, uint256 escrowed) private view returns (bytes32 digest) {
        uint256 m = txt.m;
        if (txt.taskHashes.length != m) revert WrongTaskHashCount(txt.taskHashes.length, m);
        if (txt.k == 0 || txt.d == 0 || txt.t == 0 || txt.q <= m) {
            revert InvalidTaskParameters(txt.k, txt.d, txt.t, txt.q);
        }
        if (m > MAX_CSNS) revert TooManyServers(m, MAX_CSNS);
        if (txt.t > MAX_CSNS || txt.d > MAX_CSNS) revert TooFewServers(m, MAX_CSNS + 1);
        uint256 required = (txt.d + 1) * txt.t + 1;
        if (m < required) revert TooFewServers(m, required);
        if (txt.deposit < minDeposit) revert DepositTooLow(txt.deposit, minDeposit);
        if (escrowed != 0 && escrowed != txt.deposit) revert DepositMismatch(escrowed, txt.deposit);
        digest = txDigest(txt);
        (address signer, ECDSA.RecoverError failure,) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(digest), txt.signature);
        if (failure != ECDSA.RecoverError.NoError || signer == address(0)) revert InvalidSignature();
        if (signer != txt.mtd) revert SignerMismatch(signer, txt.mtd);
        bytes32 expected = ascTaskId(txt.mtd, txt.taskHashes);
        if (expected != txt.taskId) revert TaskIdMismatch(expected, txt.taskId);
    }
}
