// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IACCSC, IOCTVSC, IRSSC, TaskRecord, TaskStatus} from "./IOsc.sol";
import {OscBase} from "./OscBase.sol";

/// @title ACCSC: the accountability smart contract ACC (spec 000 §2.6, §3.7, Algorithm 1)
/// @notice Off chain (in every enclave's EVM). Algorithm 1's heavy part, recomputing c'_j = F(v(j)) and
///         b'_j = c_j·w(j) for every j and checking every signature and share hash (`isTransaction`,
///         `isPublicKeyConsistent`), runs natively in each enclave (`offchain.outsourcing.accountability.audit`,
///         fed with the group and MTD this environment holds). This contract records its answer and checks
///         what the environment's state can check:
///         - the task is Scheduled (accepted, grouped, not yet accounted, settled or paid): disputable;
///         - MList is strictly ascending (`offchain.outsourcing.asc.sorted_mlist`) and a subset of the task's
///           Group_C (so no enclave can flag a CSN that did not serve the task);
///         - an invalid TX_acc (Algorithm 1 returns 0 on a failed check, e.g. a framing attempt) carries an
///           empty MList.
///         SSC then settles with exactly this MList.
contract ACCSC is OscBase, IACCSC {
    struct Record {
        bool recorded;
        bool valid;
        bytes32 txAccDigest;
        address[] mlist;
    }

    mapping(bytes32 taskId => Record) private _records;

    error WrongTaskStatus(bytes32 taskId, TaskStatus status);
    error MListNotSorted(uint256 position);
    error NotInGroup(bytes32 taskId, address csn);
    error InvalidTransactionFlagsNobody(uint256 count);

    /// @notice Algorithm 1's answer for a task was recorded (only inside the enclave's EVM).
    event Accounted(bytes32 indexed taskId, bool valid, uint256 malicious, bytes32 txAccDigest);

    /// @notice Account: records MList_CSN = ACC(TX_acc) for a scheduled task.
    /// @param taskId The task.
    /// @param valid Whether TX_acc passed isTransaction and isPublicKeyConsistent.
    /// @param mlist The malicious CSNs, strictly ascending (empty when ACC returned 0).
    /// @param txAccDigest The digest of the TX_acc that was judged.
    function record(bytes32 taskId, bool valid, address[] calldata mlist, bytes32 txAccDigest)
        external
        onlyOperator
    {
        TaskRecord memory task = IOCTVSC(octvsc).getTask(taskId);
        if (task.status != TaskStatus.Scheduled) revert WrongTaskStatus(taskId, task.status);
        if (!valid && mlist.length != 0) revert InvalidTransactionFlagsNobody(mlist.length);
        IRSSC scheduler = IRSSC(rssc);
        address previous;
        for (uint256 i; i < mlist.length; ++i) {
            address csn = mlist[i];
            if (csn <= previous) revert MListNotSorted(i);
            previous = csn;
            if (scheduler.indexOf(taskId, csn) == 0) revert NotInGroup(taskId, csn);
        }
        Record storage entry = _records[taskId];
        entry.recorded = true;
        entry.valid = valid;
        entry.txAccDigest = txAccDigest;
        entry.mlist = mlist;
        IOCTVSC(octvsc).markAccounted(taskId);
        emit Accounted(taskId, valid, mlist.length, txAccDigest);
        _transition("account", keccak256(abi.encode(taskId, valid, mlist, txAccDigest)));
    }

    /// @notice The recorded answer for a task.
    /// @param taskId The task.
    /// @return recorded Whether Account ran for it.
    /// @return valid Whether TX_acc was valid.
    /// @return mlist MList_CSN (empty when ACC returned 0).
    function mlistOf(bytes32 taskId) external view returns (bool recorded, bool valid, address[] memory mlist) {
        Record storage entry = _records[taskId];
        return (entry.recorded, entry.valid, entry.mlist);
    }
}
