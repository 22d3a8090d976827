// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IncentiveMath} from "../IncentiveMath.sol";
import {IACCSC, IOCTVSC, IRSSC, ISSC, TaskRecord, TaskStatus} from "./IOsc.sol";
import {OscBase} from "./OscBase.sol";

/// @title SSC: the settlement smart contract (spec 000 §2.7, §4, Eq. 14)
/// @notice Off chain (in every enclave's EVM). Settles a task by the SSC rule of spec §4 with `IncentiveMath`
///         (the arithmetic ASC applies on chain, so both agree to the base unit), and keeps the private ledger
///         that ASC's reward vouchers are signed from:
///         - `credit[csn]`: the CSN's cumulative credit over all tasks (`ASC.claim(csn, cumulative, σ)`);
///         - `reputation[csn]`: T_i, the number of consecutive honest tasks (reset to 0 when malicious);
///         - `isBlacklisted[csn]`: malicious CSNs, which RSSC never schedules again.
///         Settle: B_mtd = Dep./m; each malicious CSN of ACCSC's MList loses min(ϱ(B_mtd + 𝒳), bonded stake),
///         gets T = 0 and is blacklisted; each honest CSN is credited B_mtd + an equal share of the slashed stake
///         + R·T_i (scaled down pro rata when the incentive pool cannot pay every bonus), then T_i += 1.
///         DefaultPayout: each CSN of the group is credited B_mtd (no bonus, T unchanged), as ASC.finalizeDefault.
contract SSC is OscBase, ISSC {
    /// @notice What one settlement moves (the arguments and events of ASC.settle follow from it).
    struct Outcome {
        uint256 reward; // B_mtd
        uint256 slashed; // Σ slashed stake
        uint256 share; // slashed stake per honest CSN
        uint256 dust; // slashed remainder kept by the incentive pool
        uint256 bonus; // Σ R·T_i paid from the incentive pool
        uint256 honestCredit; // Σ credited to the honest CSNs
        uint256 refund; // back to the MTD
    }

    /// @notice ϱ as a WAD.
    uint256 public penaltyWad;
    /// @notice 𝒳, the basic stake of a CSN.
    uint256 public basicStake;
    /// @notice R, the bonus per consecutive honest task.
    uint256 public rewardPerHonest;

    /// @notice Cumulative credit of each CSN (what its voucher carries).
    mapping(address csn => uint256) public credit;
    /// @notice T_i of each CSN.
    mapping(address csn => uint256) public reputation;
    /// @notice Malicious CSNs.
    mapping(address csn => bool) public isBlacklisted;

    error InvalidParameters();
    error WrongTaskStatus(bytes32 taskId, TaskStatus status);
    error MListMismatch(bytes32 taskId);
    error NotAccounted(bytes32 taskId);
    error StakesLengthMismatch(uint256 stakes, uint256 malicious);

    /// @notice A CSN's stake is to be slashed (only inside the enclave's EVM).
    event Slashed(bytes32 indexed taskId, address indexed csn, uint256 amount);
    /// @notice A CSN was credited (only inside the enclave's EVM).
    event Credited(bytes32 indexed taskId, address indexed csn, uint256 amount, uint256 cumulative, uint256 reputation);
    /// @notice A task was settled.
    event TaskSettled(bytes32 indexed taskId, uint256 malicious, uint256 honestCredit, uint256 bonus, uint256 refund);
    /// @notice A task was paid by default.
    event DefaultPaid(bytes32 indexed taskId, uint256 perCsn, uint256 credited, uint256 refund);

    /// @param penaltyWad_ ϱ as a WAD (> 0).
    /// @param basicStake_ 𝒳 (> 0).
    /// @param rewardPerHonest_ R.
    constructor(uint256 penaltyWad_, uint256 basicStake_, uint256 rewardPerHonest_) {
        if (penaltyWad_ == 0 || basicStake_ == 0) revert InvalidParameters();
        penaltyWad = penaltyWad_;
        basicStake = basicStake_;
        rewardPerHonest = rewardPerHonest_;
    }

    /// @notice Settle: Eq. (14) for a Scheduled or Accounted task.
    /// @param taskId The task.
    /// @param mlist ACCSC's MList (strictly ascending; empty when the task was not accounted or ACC returned 0).
    /// @param stakes The bonded stake in ASC of each CSN of `mlist`, in the same order.
    /// @param incentivePool ASC's incentive pool (bonuses are scaled down to fit it).
    /// @return out The outcome (`out.bonus` is ASC.settle's `bonus`).
    function settle(bytes32 taskId, address[] calldata mlist, uint256[] calldata stakes, uint256 incentivePool)
        external
        onlyOperator
        returns (Outcome memory out)
    {
        TaskRecord memory task = IOCTVSC(octvsc).getTask(taskId);
        if (task.status != TaskStatus.Scheduled && task.status != TaskStatus.Accounted) {
            revert WrongTaskStatus(taskId, task.status);
        }
        (bool recorded,, address[] memory accounted) = IACCSC(accsc).mlistOf(taskId);
        if (recorded) {
            if (keccak256(abi.encode(accounted)) != keccak256(abi.encode(mlist))) revert MListMismatch(taskId);
        } else if (mlist.length != 0) {
            revert NotAccounted(taskId);
        }
        if (stakes.length != mlist.length) revert StakesLengthMismatch(stakes.length, mlist.length);
        address[] memory group = IRSSC(rssc).groupOf(taskId);
        uint256 m = group.length;
        out.reward = IncentiveMath.rewardPerCsn(task.deposit, m);
        bool[] memory bad = _slash(taskId, mlist, stakes, out);
        uint256 honest = m - mlist.length;
        (out.share, out.dust) = IncentiveMath.splitSlashed(out.slashed, honest);
        _credit(taskId, group, bad, incentivePool, out);
        out.refund = task.deposit - out.reward * honest;
        IOCTVSC(octvsc).markSettled(taskId);
        emit TaskSettled(taskId, mlist.length, out.honestCredit, out.bonus, out.refund);
        _transition("settle", keccak256(abi.encode(taskId, mlist, stakes, incentivePool, out)));
    }

    /// @notice DefaultPayout: nobody disputed, each CSN of the group is credited B_mtd.
    /// @param taskId The task (Scheduled).
    /// @return perCsn B_mtd.
    /// @return credited m·B_mtd.
    /// @return refund Dep. mod m, back to the MTD.
    function defaultPayout(bytes32 taskId)
        external
        onlyOperator
        returns (uint256 perCsn, uint256 credited, uint256 refund)
    {
        TaskRecord memory task = IOCTVSC(octvsc).getTask(taskId);
        if (task.status != TaskStatus.Scheduled) revert WrongTaskStatus(taskId, task.status);
        address[] memory group = IRSSC(rssc).groupOf(taskId);
        perCsn = IncentiveMath.rewardPerCsn(task.deposit, group.length);
        for (uint256 i; i < group.length; ++i) {
            address csn = group[i];
            uint256 cumulative = credit[csn] + perCsn;
            credit[csn] = cumulative;
            emit Credited(taskId, csn, perCsn, cumulative, reputation[csn]);
        }
        credited = perCsn * group.length;
        refund = task.deposit - credited;
        IOCTVSC(octvsc).markPaidByDefault(taskId);
        emit DefaultPaid(taskId, perCsn, credited, refund);
        _transition("default", keccak256(abi.encode(taskId, perCsn, credited, refund)));
    }

    /// @dev Slashes, resets and blacklists the CSNs of MList; marks their positions in the group.
    function _slash(bytes32 taskId, address[] calldata mlist, uint256[] calldata stakes, Outcome memory out)
        private
        returns (bool[] memory bad)
    {
        IRSSC scheduler = IRSSC(rssc);
        bad = new bool[](scheduler.groupOf(taskId).length);
        for (uint256 i; i < mlist.length; ++i) {
            address csn = mlist[i];
            bad[scheduler.indexOf(taskId, csn) - 1] = true;
            uint256 amount = IncentiveMath.penalty(penaltyWad, out.reward, basicStake, stakes[i]);
            out.slashed += amount;
            reputation[csn] = 0;
            isBlacklisted[csn] = true;
            emit Slashed(taskId, csn, amount);
        }
    }

    /// @dev Credits each honest CSN B_mtd + its share of the slashed stake + its (scaled) bonus; T_i += 1.
    function _credit(bytes32 taskId, address[] memory group, bool[] memory bad, uint256 pool, Outcome memory out)
        private
    {
        uint256 requested;
        for (uint256 i; i < group.length; ++i) {
            if (!bad[i]) requested += rewardPerHonest * reputation[group[i]];
        }
        for (uint256 i; i < group.length; ++i) {
            if (bad[i]) continue;
            address csn = group[i];
            uint256 rep = reputation[csn];
            uint256 bonus = rewardPerHonest * rep;
            if (requested > pool) bonus = Math.mulDiv(bonus, pool, requested);
            uint256 amount = out.reward + out.share + bonus;
            uint256 cumulative = credit[csn] + amount;
            credit[csn] = cumulative;
            reputation[csn] = rep + 1;
            out.bonus += bonus;
            out.honestCredit += amount;
            emit Credited(taskId, csn, amount, cumulative, rep + 1);
        }
    }
}
