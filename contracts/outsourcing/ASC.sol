// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ActorRoles} from "../platform/ActorRoles.sol";
import {RSC} from "../platform/RSC.sol";
import {IEnvironmentVerifier} from "./IEnvironmentVerifier.sol";
import {IncentiveMath} from "./IncentiveMath.sol";

/// @title ASC: the anchoring smart contract of Meta-BMEOC (seed 000, §IV.A.3, §IV.C, spec §2.2, R23)
/// @notice "The principal communication bridge between the on-chain and off-chain systems": it holds the CSNs'
///         stakes and the MTDs' deposits in MetaCoin, anchors a task's schedule by a commitment only, and moves
///         tokens when the execution environment (the enclaves running OCTVSC, RSSC, ACCSC and SSC) says so
///         with its aggregate signature, checked by an `IEnvironmentVerifier` (MSC).
///
///         Privacy (spec §3.10, R26): nothing here names the CSNs of a task. The schedule is
///         `groupCommitment = H(Group_C ‖ salt)`; stakes are bonded per CSN, not per task; honest CSNs are paid
///         through cumulative reward vouchers (`claim`) that the environment signs across tasks, so the chain
///         sees totals per task and running totals per CSN, never a task's group or an index. Only the
///         malicious CSNs of a settled task are named, because they are slashed and blacklisted in RSC.
///
///         Money flow of one task (all amounts by `IncentiveMath`, as `offchain/outsourcing/incentives.py`):
///         openTask escrows Dep.; anchorSchedule starts the dispute window; then either
///         - nobody disputes: after the window `finalizeDefault` credits B_mtd = Dep./m to each of the m CSNs
///           ("the OSC contract automatically allocates its deposit to the CSNs") and refunds Dep. mod m; or
///         - the environment settles (`settle`, MList from ACCSC, possibly empty): each malicious CSN loses
///           min(ϱ(B_mtd + 𝒳), bonded) and is blacklisted, honest CSNs are credited B_mtd + an equal share of
///           the slashed stake + the reputation bonus Σ R·T_i (from the incentive pool), the MTD gets back the
///           B_mtd of the malicious ones; or
///         - the MTD disputes and the environment never settles: after the settlement timeout the MTD takes
///           its deposit back (`expireDispute`).
///         Credited tokens leave only through `claim`, never above the credited total. The contract's balance
///         always equals bonded stakes + escrowed deposits + the incentive pool + credited-but-unclaimed.
contract ASC is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice May bind ASC to the current execution environment.
    bytes32 public constant ENVIRONMENT_ADMIN_ROLE = keccak256("ENVIRONMENT_ADMIN_ROLE");
    /// @notice Upper bound on m, so every loop of a settlement is bounded.
    uint256 public constant MAX_CSNS = 64;
    /// @notice Domain tags of the three messages the environment signs.
    bytes32 public constant ANCHOR_TAG = keccak256("metatrust/bmeoc/ASC/anchor/v1");
    bytes32 public constant SETTLE_TAG = keccak256("metatrust/bmeoc/ASC/settle/v1");
    bytes32 public constant CLAIM_TAG = keccak256("metatrust/bmeoc/ASC/claim/v1");

    enum Status {
        None,
        Open, // Dep. escrowed, waiting for the schedule anchor
        Scheduled, // Group_C committed, dispute window running
        Disputed, // the MTD disputed; waiting for the environment's settlement
        Settled, // settled by the environment
        PaidByDefault, // nobody disputed: Dep. credited to the CSNs
        Refunded // cancelled before scheduling, or the environment never settled a dispute
    }

    struct Task {
        address mtd;
        uint16 m;
        Status status;
        uint64 deadline; // Open: schedule deadline; Scheduled: end of the dispute window; Disputed: settlement deadline
        uint256 deposit;
        bytes32 idTasksHash; // H(ID_t), the MTD's commitment to its subtasks
        bytes32 groupCommitment; // H(Group_C ‖ salt); zero until anchored
    }

    /// @dev The amounts of one settlement (IncentiveMath).
    struct Outcome {
        uint256 slashed; // Σ slashed stake
        uint256 honestCredit; // credited to the honest CSNs: B_mtd each + slashed share + bonus
        uint256 refund; // back to the MTD: B_mtd of each malicious CSN + Dep. mod m
        uint256 dust; // slashed remainder kept by the incentive pool
    }

    struct Stake {
        uint128 bonded; // slashable stake (includes the part being unbonded)
        uint128 unbonding; // part requested for withdrawal
        uint64 unlockAt; // when the unbonding part can be withdrawn
    }

    /// @notice MetaCoin.
    IERC20 public immutable token;
    /// @notice The registry: CSNs and MTDs must be active there with their role; ASC blacklists through it.
    RSC public immutable registry;
    /// @notice The aggregate-signature verifier of execution environments (MSC).
    IEnvironmentVerifier public immutable verifier;
    /// @notice ϱ, the penalty multiplier, as a WAD.
    uint256 public immutable penaltyWad;
    /// @notice 𝒳, the basic stake of a CSN (also the minimum to be eligible).
    uint256 public immutable basicStake;
    /// @notice Seconds the MTD has to dispute after the schedule is anchored.
    uint64 public immutable disputeWindow;
    /// @notice Seconds the environment has to anchor an open task, or to settle a disputed one.
    uint64 public immutable settlementTimeout;
    /// @notice Seconds between a stake withdrawal request and the withdrawal (slashable meanwhile).
    uint64 public immutable unbondingPeriod;

    /// @notice The execution environment whose signatures ASC accepts.
    bytes32 public environmentId;
    /// @notice Root of the SSC's off-chain state (credits, reputations T_i) after the latest settlement.
    bytes32 public sscStateRoot;
    /// @notice Tokens of the incentive pool T_P that fund reputation bonuses.
    uint256 public incentivePool;
    /// @notice Sum of every bonded stake.
    uint256 public totalBonded;
    /// @notice Sum of the deposits of tasks not yet settled.
    uint256 public totalEscrowed;
    /// @notice Tokens credited to CSNs by settlements and default payouts, ever.
    uint256 public totalCredited;
    /// @notice Tokens claimed by CSNs, ever (≤ totalCredited).
    uint256 public totalClaimed;

    mapping(bytes32 taskId => Task) private _tasks;
    mapping(address csn => Stake) private _stakes;
    /// @notice Cumulative amount each CSN has claimed.
    mapping(address csn => uint256) public claimed;

    error ZeroAddress();
    error InvalidParameters();
    error ZeroAmount();
    error NotActiveCsn(address account);
    error NotActiveMtd(address account);
    error InvalidGroupSize(uint256 m);
    error TaskExists(bytes32 taskId);
    error UnknownTask(bytes32 taskId);
    error WrongStatus(bytes32 taskId, Status status);
    error NotTaskOwner(bytes32 taskId, address caller);
    error TooEarly(uint64 deadline);
    error TooLate(uint64 deadline);
    error NoEnvironment();
    error InvalidEnvironmentSignature();
    error ZeroCommitment();
    error MaliciousListNotSorted();
    error TooManyMalicious(uint256 count, uint256 m);
    error BonusExceedsPool(uint256 bonus, uint256 pool);
    error InsufficientStake(uint256 available, uint256 requested);
    error NothingToWithdraw();
    error NothingToClaim(address csn, uint256 cumulative, uint256 alreadyClaimed);
    error CreditExceeded(uint256 requested, uint256 available);
    error BlacklistFailed(address csn);

    event EnvironmentSet(bytes32 indexed envId, address indexed by);
    event IncentivesFunded(address indexed from, uint256 amount, uint256 pool);
    event StakeDeposited(address indexed csn, uint256 amount, uint256 bonded);
    event UnstakeRequested(address indexed csn, uint256 amount, uint64 unlockAt);
    event StakeWithdrawn(address indexed csn, uint256 amount, uint256 bonded);
    event TaskOpened(bytes32 indexed taskId, address indexed mtd, uint256 deposit, uint16 m, bytes32 idTasksHash);
    event TaskScheduled(bytes32 indexed taskId, bytes32 indexed envId, bytes32 groupCommitment, uint64 disputeDeadline);
    event TaskCancelled(bytes32 indexed taskId, uint256 refund);
    event DisputeOpened(bytes32 indexed taskId, uint64 settlementDeadline);
    event DisputeExpired(bytes32 indexed taskId, uint256 refund);
    event Slashed(bytes32 indexed taskId, address indexed csn, uint256 amount);
    event TaskSettled(
        bytes32 indexed taskId,
        bytes32 indexed envId,
        uint256 malicious,
        uint256 honestCredit,
        uint256 mtdRefund,
        uint256 bonus,
        uint256 toPool,
        bytes32 sscStateRoot
    );
    event DefaultPayout(bytes32 indexed taskId, uint256 perCsn, uint256 credited, uint256 mtdRefund);
    event Claimed(address indexed csn, uint256 amount, uint256 cumulative);

    /// @param token_ MetaCoin.
    /// @param registry_ RSC (grant ASC its BLACKLISTER_ROLE).
    /// @param verifier_ The environment verifier (MSC).
    /// @param admin Holder of DEFAULT_ADMIN_ROLE and ENVIRONMENT_ADMIN_ROLE.
    /// @param penaltyWad_ ϱ as a WAD (> 0).
    /// @param basicStake_ 𝒳 (> 0).
    /// @param disputeWindow_ Seconds to dispute (> 0).
    /// @param settlementTimeout_ Seconds to anchor or to settle a dispute (> 0).
    /// @param unbondingPeriod_ Seconds of unbonding; at least disputeWindow_ + 2·settlementTimeout_, so a
    ///        CSN cannot leave with its stake while one of its tasks can still be settled.
    constructor(
        IERC20 token_,
        RSC registry_,
        IEnvironmentVerifier verifier_,
        address admin,
        uint256 penaltyWad_,
        uint256 basicStake_,
        uint64 disputeWindow_,
        uint64 settlementTimeout_,
        uint64 unbondingPeriod_
    ) {
        if (
            address(token_) == address(0) || address(registry_) == address(0) || address(verifier_) == address(0)
                || admin == address(0)
        ) revert ZeroAddress();
        if (
            penaltyWad_ == 0 || basicStake_ == 0 || disputeWindow_ == 0 || settlementTimeout_ == 0
                || uint256(unbondingPeriod_) < uint256(disputeWindow_) + 2 * uint256(settlementTimeout_)
        ) revert InvalidParameters();
        token = token_;
        registry = registry_;
        verifier = verifier_;
        penaltyWad = penaltyWad_;
        basicStake = basicStake_;
        disputeWindow = disputeWindow_;
        settlementTimeout = settlementTimeout_;
        unbondingPeriod = unbondingPeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ENVIRONMENT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ environment and incentive pool

    /// @notice Binds ASC to the execution environment whose aggregate signatures it accepts from now on.
    /// @param envId The environment's id in MSC.
    function setEnvironment(bytes32 envId) external onlyRole(ENVIRONMENT_ADMIN_ROLE) {
        environmentId = envId;
        emit EnvironmentSet(envId, msg.sender);
    }

    /// @notice Adds tokens to the incentive pool T_P that pays reputation bonuses (approve first).
    /// @param amount Tokens to add.
    function fundIncentives(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        incentivePool += amount;
        emit IncentivesFunded(msg.sender, amount, incentivePool);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------ stakes

    /// @notice Bonds `amount` more stake of the sender, who must be an active CSN in RSC (approve first).
    /// @param amount Tokens to bond.
    function depositStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (!registry.isActive(msg.sender, ActorRoles.CSN)) revert NotActiveCsn(msg.sender);
        Stake storage stake = _stakes[msg.sender];
        stake.bonded += SafeCast.toUint128(amount);
        totalBonded += amount;
        emit StakeDeposited(msg.sender, amount, stake.bonded);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts unbonding `amount` of the sender's stake; it stays slashable for `unbondingPeriod`.
    ///         A new request adds to the pending one and restarts the period.
    /// @param amount Tokens to unbond.
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Stake storage stake = _stakes[msg.sender];
        uint256 free = uint256(stake.bonded) - stake.unbonding;
        if (amount > free) revert InsufficientStake(free, amount);
        stake.unbonding += SafeCast.toUint128(amount);
        stake.unlockAt = uint64(block.timestamp) + unbondingPeriod;
        emit UnstakeRequested(msg.sender, amount, stake.unlockAt);
    }

    /// @notice Withdraws the sender's unbonded stake (what is left of it after any slashing).
    function withdrawStake() external nonReentrant {
        Stake storage stake = _stakes[msg.sender];
        uint256 amount = stake.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < stake.unlockAt) revert TooEarly(stake.unlockAt);
        stake.bonded -= uint128(amount);
        stake.unbonding = 0;
        totalBonded -= amount;
        emit StakeWithdrawn(msg.sender, amount, stake.bonded);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ tasks

    /// @notice Opens a task and escrows its deposit Dep. (TX_t accepted by OCTVSC; approve first).
    /// @param idTasksHash H(ID_t): the MTD's commitment to its m subtask ids (no share, no CSN).
    /// @param m The number of CSNs the task needs (1..MAX_CSNS).
    /// @param deposit Dep. (> 0).
    /// @return taskId keccak256(chain id, ASC, MTD, idTasksHash): unique per MTD and commitment.
    function openTask(bytes32 idTasksHash, uint16 m, uint256 deposit)
        external
        nonReentrant
        returns (bytes32 taskId)
    {
        if (!registry.isActive(msg.sender, ActorRoles.MTD)) revert NotActiveMtd(msg.sender);
        if (m == 0 || m > MAX_CSNS) revert InvalidGroupSize(m);
        if (deposit == 0) revert ZeroAmount();
        if (idTasksHash == bytes32(0)) revert ZeroCommitment();
        taskId = keccak256(abi.encode(block.chainid, address(this), msg.sender, idTasksHash));
        Task storage task = _tasks[taskId];
        if (task.status != Status.None) revert TaskExists(taskId);
        task.mtd = msg.sender;
        task.m = m;
        task.status = Status.Open;
        task.deadline = uint64(block.timestamp) + settlementTimeout;
        task.deposit = deposit;
        task.idTasksHash = idTasksHash;
        totalEscrowed += deposit;
        emit TaskOpened(taskId, msg.sender, deposit, m, idTasksHash);
        token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Anchors the schedule chosen by RSSC: only `groupCommitment = H(Group_C ‖ salt)`, signed by the
    ///         execution environment. Starts the dispute window. Anyone (the Leader Enclave) may submit it.
    /// @param taskId The task.
    /// @param groupCommitment The commitment to Group_C (non-zero).
    /// @param aggregateSignature The environment's signature over `anchorDigest(taskId, groupCommitment)`.
    function anchorSchedule(bytes32 taskId, bytes32 groupCommitment, bytes calldata aggregateSignature) external {
        Task storage task = _task(taskId);
        if (task.status != Status.Open) revert WrongStatus(taskId, task.status);
        if (block.timestamp >= task.deadline) revert TooLate(task.deadline);
        if (groupCommitment == bytes32(0)) revert ZeroCommitment();
        bytes32 envId = _checkSignature(anchorDigest(taskId, groupCommitment), aggregateSignature);
        task.groupCommitment = groupCommitment;
        task.status = Status.Scheduled;
        uint64 deadline = uint64(block.timestamp) + disputeWindow;
        task.deadline = deadline;
        emit TaskScheduled(taskId, envId, groupCommitment, deadline);
    }

    /// @notice The MTD takes its deposit back when the environment never anchored a schedule in time.
    /// @param taskId The task.
    function cancelTask(bytes32 taskId) external nonReentrant {
        Task storage task = _ownedTask(taskId);
        if (task.status != Status.Open) revert WrongStatus(taskId, task.status);
        if (block.timestamp < task.deadline) revert TooEarly(task.deadline);
        uint256 refund = task.deposit;
        task.status = Status.Refunded;
        totalEscrowed -= refund;
        emit TaskCancelled(taskId, refund);
        token.safeTransfer(task.mtd, refund);
    }

    /// @notice The MTD disputes the result (verification failed; TX_acc goes encrypted to the enclaves).
    ///         Freezes the default payout until the environment settles, at most `settlementTimeout`.
    /// @param taskId The task.
    function openDispute(bytes32 taskId) external {
        Task storage task = _ownedTask(taskId);
        if (task.status != Status.Scheduled) revert WrongStatus(taskId, task.status);
        if (block.timestamp >= task.deadline) revert TooLate(task.deadline);
        uint64 deadline = uint64(block.timestamp) + settlementTimeout;
        task.status = Status.Disputed;
        task.deadline = deadline;
        emit DisputeOpened(taskId, deadline);
    }

    /// @notice The MTD takes its deposit back when the environment did not settle its dispute in time.
    /// @param taskId The task.
    function expireDispute(bytes32 taskId) external nonReentrant {
        Task storage task = _ownedTask(taskId);
        if (task.status != Status.Disputed) revert WrongStatus(taskId, task.status);
        if (block.timestamp < task.deadline) revert TooEarly(task.deadline);
        uint256 refund = task.deposit;
        task.status = Status.Refunded;
        totalEscrowed -= refund;
        emit DisputeExpired(taskId, refund);
        token.safeTransfer(task.mtd, refund);
    }

    /// @notice Default payout: nobody disputed within the window, so Dep. goes to the m CSNs (B_mtd each,
    ///         credited for their vouchers) and Dep. mod m back to the MTD. Anyone may call it.
    /// @param taskId The task.
    function finalizeDefault(bytes32 taskId) external nonReentrant {
        Task storage task = _task(taskId);
        if (task.status != Status.Scheduled) revert WrongStatus(taskId, task.status);
        if (block.timestamp < task.deadline) revert TooEarly(task.deadline);
        uint256 deposit = task.deposit;
        uint256 perCsn = IncentiveMath.rewardPerCsn(deposit, task.m);
        uint256 credited = perCsn * task.m;
        uint256 refund = deposit - credited;
        task.status = Status.PaidByDefault;
        totalEscrowed -= deposit;
        totalCredited += credited;
        emit DefaultPayout(taskId, perCsn, credited, refund);
        if (refund != 0) token.safeTransfer(task.mtd, refund);
    }

    /// @notice Settlement by the SSC (Eq. 14), signed by the execution environment: slashes and blacklists
    ///         the CSNs of ACCSC's MList, credits the honest ones, pays the bonus from the incentive pool and
    ///         refunds the MTD. Accepted once per task, while it is scheduled or disputed.
    /// @param taskId The task.
    /// @param malicious MList: the malicious CSNs, strictly ascending addresses (empty when ACC returned 0).
    /// @param bonus Σ R·T_i over the honest CSNs (from the incentive pool).
    /// @param newStateRoot Root of the SSC's state after this settlement.
    /// @param aggregateSignature The environment's signature over
    ///        `settlementDigest(taskId, malicious, bonus, newStateRoot)`.
    function settle(
        bytes32 taskId,
        address[] calldata malicious,
        uint256 bonus,
        bytes32 newStateRoot,
        bytes calldata aggregateSignature
    ) external nonReentrant {
        Task storage task = _task(taskId);
        Status status = task.status;
        if (status != Status.Scheduled && status != Status.Disputed) revert WrongStatus(taskId, status);
        if (malicious.length > task.m) revert TooManyMalicious(malicious.length, task.m);
        if (bonus > incentivePool) revert BonusExceedsPool(bonus, incentivePool);
        bytes32 envId =
            _checkSignature(settlementDigest(taskId, malicious, bonus, newStateRoot), aggregateSignature);
        Outcome memory out = _outcome(taskId, task, malicious, bonus);
        task.status = Status.Settled;
        sscStateRoot = newStateRoot;
        incentivePool = incentivePool - bonus + out.dust;
        totalEscrowed -= task.deposit;
        totalBonded -= out.slashed;
        totalCredited += out.honestCredit;
        emit TaskSettled(taskId, envId, malicious.length, out.honestCredit, out.refund, bonus, out.dust, newStateRoot);
        if (out.refund != 0) token.safeTransfer(task.mtd, out.refund);
    }

    /// @notice Pays a CSN its rewards: the environment signs the CSN's cumulative credit over all tasks (the
    ///         SSC's ledger), and ASC pays the difference to what was already claimed. Anyone may submit it.
    /// @param csn The CSN.
    /// @param cumulative The CSN's total credit ever.
    /// @param aggregateSignature The environment's signature over `claimDigest(csn, cumulative)`.
    function claim(address csn, uint256 cumulative, bytes calldata aggregateSignature) external nonReentrant {
        uint256 already = claimed[csn];
        if (cumulative <= already) revert NothingToClaim(csn, cumulative, already);
        _checkSignature(claimDigest(csn, cumulative), aggregateSignature);
        uint256 amount = cumulative - already;
        uint256 available = totalCredited - totalClaimed;
        if (amount > available) revert CreditExceeded(amount, available);
        claimed[csn] = cumulative;
        totalClaimed += amount;
        emit Claimed(csn, amount, cumulative);
        token.safeTransfer(csn, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice A task's record.
    /// @param taskId The task.
    /// @return The record (status None when unknown).
    function getTask(bytes32 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice A CSN's stake.
    /// @param csn The CSN.
    /// @return The bonded amount, the part unbonding and when it unlocks.
    function stakeOf(address csn) external view returns (Stake memory) {
        return _stakes[csn];
    }

    /// @notice Whether RSSC may schedule `csn`: active CSN in RSC, nothing unbonding, bonded ≥ 𝒳.
    /// @param csn The CSN.
    /// @return True when eligible.
    function isEligible(address csn) external view returns (bool) {
        Stake storage stake = _stakes[csn];
        return stake.unbonding == 0 && stake.bonded >= basicStake && registry.isActive(csn, ActorRoles.CSN);
    }

    /// @notice The digest the environment signs to anchor a schedule.
    /// @param taskId The task.
    /// @param groupCommitment H(Group_C ‖ salt).
    /// @return The digest.
    function anchorDigest(bytes32 taskId, bytes32 groupCommitment) public view returns (bytes32) {
        return keccak256(abi.encode(ANCHOR_TAG, block.chainid, address(this), environmentId, taskId, groupCommitment));
    }

    /// @notice The digest the environment signs to settle a task.
    /// @param taskId The task.
    /// @param malicious MList (ascending).
    /// @param bonus Σ R·T_i.
    /// @param newStateRoot The SSC's state root after settlement.
    /// @return The digest.
    function settlementDigest(bytes32 taskId, address[] calldata malicious, uint256 bonus, bytes32 newStateRoot)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                SETTLE_TAG,
                block.chainid,
                address(this),
                environmentId,
                taskId,
                keccak256(abi.encodePacked(malicious)),
                bonus,
                newStateRoot
            )
        );
    }

    /// @notice The digest the environment signs for a CSN's cumulative reward voucher.
    /// @param csn The CSN.
    /// @param cumulative Its total credit ever.
    /// @return The digest.
    function claimDigest(address csn, uint256 cumulative) public view returns (bytes32) {
        return keccak256(abi.encode(CLAIM_TAG, block.chainid, address(this), environmentId, csn, cumulative));
    }

    // ------------------------------------------------------------------ internals

    function _task(bytes32 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == Status.None) revert UnknownTask(taskId);
    }

    function _ownedTask(bytes32 taskId) private view returns (Task storage task) {
        task = _task(taskId);
        if (task.mtd != msg.sender) revert NotTaskOwner(taskId, msg.sender);
    }

    function _checkSignature(bytes32 digest, bytes calldata aggregateSignature) private view returns (bytes32 envId) {
        envId = environmentId;
        if (envId == bytes32(0)) revert NoEnvironment();
        if (!verifier.verifyEnvironmentSignature(envId, digest, aggregateSignature)) {
            revert InvalidEnvironmentSignature();
        }
    }

    function _outcome(bytes32 taskId, Task storage task, address[] calldata malicious, uint256 bonus)
        private
        returns (Outcome memory out)
    {
        uint256 m = task.m;
        uint256 reward = IncentiveMath.rewardPerCsn(task.deposit, m);
        out.slashed = _slash(taskId, malicious, reward);
        uint256 honest = m - malicious.length;
        uint256 share;
        (share, out.dust) = IncentiveMath.splitSlashed(out.slashed, honest);
        out.honestCredit = (reward + share) * honest + bonus;
        out.refund = task.deposit - reward * honest;
    }

    /// @dev Slashes and blacklists each CSN of MList (bounded: length ≤ m ≤ MAX_CSNS).
    function _slash(bytes32 taskId, address[] calldata malicious, uint256 reward) private returns (uint256 total) {
        address previous;
        for (uint256 i; i < malicious.length; ++i) {
            address csn = malicious[i];
            if (csn <= previous) revert MaliciousListNotSorted();
            previous = csn;
            Stake storage stake = _stakes[csn];
            uint256 amount = IncentiveMath.penalty(penaltyWad, reward, basicStake, stake.bonded);
            if (amount != 0) {
                stake.bonded -= uint128(amount);
                if (stake.unbonding > stake.bonded) stake.unbonding = stake.bonded;
                total += amount;
            }
            emit Slashed(taskId, csn, amount);
            _blacklist(csn, taskId);
        }
    }

    /// @dev Blacklists in RSC; a CSN already blacklisted (by an earlier task) is fine.
    function _blacklist(address csn, bytes32 reason) private {
        try registry.blacklist(csn, reason) {}
        catch (bytes memory error) {
            if (error.length < 4 || bytes4(error) != RSC.NodeIsBlacklisted.selector) revert BlacklistFailed(csn);
        }
    }
}
