// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {CrowdTaskChecks} from "./CrowdTaskChecks.sol";
import {EciesLite} from "./EciesLite.sol";
import {IReputation} from "./IReputation.sol";
import {IDisputeTarget, OracleManager} from "./OracleManager.sol";

/// @title DC: the Data Contract of MetaAICM (seed 001, §4.5.1.2, Algorithm 4.2, §4.5.3)
/// @notice A data requester (an ML worker) crowdsources datasets: T_dc = {Θ + α | f_data | pk | t_deadline |
///         R_min}, escrowing the reward pool Θ and the compensation stake α. Data workers with reputation at
///         least R_min submit eURL_j = Enc_pk(URL_j) (Sub_j; ECIES-lite of spec §4.3). After the deadline the
///         requester marks each dataset honest or dishonest once: Θ is shared by the honest ones, whose
///         reputation grows. A worker marked dishonest may dispute within T_dispute by revealing URL_j and
///         its encryption scalar e; DC recomputes Enc_pk(URL_j; e) and requires it to equal Sub_j ("aligns
///         with the corresponding transaction Sub_j"), then the oracle network (`OracleManager`) votes.
///         Winners share α equally and gain reputation; the requester loses 1 per successful dispute;
///         dishonest-marked workers who did not win lose 1 once the disputes are over. With no winner α
///         returns to the requester after t_lock blocks.
/// @dev Choices the thesis leaves open (spec §2.3, §7 A11): equal split of Θ among the honest datasets with
///      dust to the requester; Θ returns to the requester when nobody is marked honest; a requester who does
///      not evaluate within T_eval has every dataset treated as honest (mirrors MLC) and α returned; the
///      ciphertext context binds each Sub_j to (chain, DC, task, worker address), so a copied ciphertext
///      never aligns. Loops are bounded by MAX_SUBMISSIONS; payouts are pushed (MetaCoin has no hooks).
contract DC is ReentrancyGuardTransient, CrowdTaskChecks, IDisputeTarget {
    using SafeERC20 for IERC20;

    enum Status {
        None,
        Open,
        Evaluated,
        Finalized
    }

    enum Mark {
        Pending,
        Honest,
        Dishonest,
        Disputed,
        Won,
        Lost
    }

    struct TaskParams {
        uint256 reward; // Θ
        uint256 compensation; // α
        string featuresURI; // f_data
        uint256 keyX; // pk of the requester (secp256k1)
        uint256 keyY;
        uint64 deadline;
        int256 minReputation; // R_min (RC fixed point)
        uint32 evaluationWindow; // T_eval
        uint32 disputeWindow; // T_dispute
        uint32 lockBlocks; // t_lock, in blocks after the evaluation
        uint8 maxSubmissions;
    }

    struct Task {
        address requester; // slot 0
        uint96 reward;
        uint128 compensation; // slot 1
        uint64 deadline;
        uint64 evaluatedAt;
        int128 minReputation; // slot 2
        uint64 evaluatedBlock;
        uint32 evaluationWindow;
        uint32 disputeWindow; // slot 3
        uint32 lockBlocks;
        uint8 maxSubmissions;
        uint8 openDisputes;
        uint8 winners;
        Status status;
        uint256 keyX; // slot 4
        uint256 keyY; // slot 5
    }

    struct Submission {
        address worker;
        Mark mark;
        bytes32 commitment; // keccak256(abi.encode(addr(E), keccak256(c)))
    }

    IERC20 public immutable token;
    IReputation public immutable reputation;
    OracleManager public immutable oracles;

    uint256 private _taskCount;
    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => Submission[]) private _submissions;
    mapping(uint256 taskId => mapping(address worker => bool)) private _submitted;
    mapping(uint256 ticketId => uint256 packed) private _ticketSlot; // taskId << 8 | index, plus 1 << 255

    error ZeroAddress();
    error InvalidReward();
    error InvalidKey();
    error UnknownTask(uint256 taskId);
    error WrongStatus(uint256 taskId, Status status);
    error SubmissionsClosed(uint256 taskId);
    error RequesterCannotSubmit();
    error AlreadySubmitted(address worker);
    error TaskFull(uint256 taskId);
    error ReputationTooLow(address worker, int256 reputation, int256 minimum);
    error InvalidEphemeralKey();
    error NotRequester(address caller);
    error EvaluationNotOpen(uint256 taskId);
    error EvaluationClosed(uint256 taskId);
    error LengthMismatch(uint256 expected, uint256 got);
    error NotWorker(address caller);
    error NotDisputable(uint256 taskId, uint256 index);
    error DisputeWindowClosed(uint256 taskId);
    error DisputeMismatch();
    error NotOracleManager(address caller);
    error UnknownTicket(uint256 ticketId);
    error TooEarly(uint256 taskId);

    event DataTaskCreated(
        uint256 indexed taskId,
        address indexed requester,
        uint256 reward,
        uint256 compensation,
        string featuresURI,
        uint256 keyX,
        uint256 keyY,
        uint64 deadline,
        int256 minReputation
    );
    event DatasetSubmitted(
        uint256 indexed taskId, uint256 indexed index, address indexed worker, uint256 ephemeralX, uint256 ephemeralY, bytes ciphertext
    );
    event DatasetsEvaluated(uint256 indexed taskId, bool[] honest);
    event DisputeRaised(uint256 indexed taskId, uint256 indexed index, bytes url, uint256 ticketId);
    event DisputeResolved(uint256 indexed taskId, uint256 indexed index, bool qualified);
    event TaskFinalized(uint256 indexed taskId, bool evaluated, uint256 winners);
    event Paid(uint256 indexed taskId, address indexed to, uint256 amount);

    /// @param token_ MetaCoin.
    /// @param reputation_ RC (this contract needs WRITER_ROLE).
    /// @param oracles_ The oracle network (this contract needs OPENER_ROLE).
    constructor(IERC20 token_, IReputation reputation_, OracleManager oracles_) {
        if (address(token_) == address(0) || address(reputation_) == address(0) || address(oracles_) == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        reputation = reputation_;
        oracles = oracles_;
    }

    // ------------------------------------------------------------------ requester

    /// @notice Creates a data task (T_dc) and escrows Θ + α (approve first); one participation in RC.
    /// @param params Θ, α, f_data, pk, deadline, R_min, T_eval, T_dispute, t_lock and capacity.
    /// @return taskId The new task (from 1).
    function createTask(TaskParams calldata params) external nonReentrant returns (uint256 taskId) {
        if (params.reward == 0 || params.reward > type(uint96).max || params.compensation > type(uint96).max) {
            revert InvalidReward();
        }
        if (params.deadline <= block.timestamp) revert InvalidDeadline(params.deadline);
        if (params.evaluationWindow == 0 || params.disputeWindow == 0) revert InvalidWindow();
        _checkMaxSubmissions(params.maxSubmissions);
        if (!EciesLite.isUsablePoint(params.keyX, params.keyY)) revert InvalidKey();
        _checkUri(bytes(params.featuresURI));
        _checkMinReputation(params.minReputation);
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.requester = msg.sender;
        task.reward = uint96(params.reward);
        task.compensation = uint128(params.compensation);
        task.deadline = params.deadline;
        task.minReputation = int128(params.minReputation);
        task.evaluationWindow = params.evaluationWindow;
        task.disputeWindow = params.disputeWindow;
        task.lockBlocks = params.lockBlocks;
        task.maxSubmissions = params.maxSubmissions;
        task.status = Status.Open;
        task.keyX = params.keyX;
        task.keyY = params.keyY;
        emit DataTaskCreated(
            taskId,
            msg.sender,
            params.reward,
            params.compensation,
            params.featuresURI,
            params.keyX,
            params.keyY,
            params.deadline,
            params.minReputation
        );
        reputation.recordParticipation(msg.sender, address(0));
        token.safeTransferFrom(msg.sender, address(this), params.reward + params.compensation);
    }

    /// @notice Marks every dataset honest or dishonest, once, within T_eval after the deadline; Θ is split
    ///         among the honest ones at once and their reputation rewarded.
    /// @param taskId The task.
    /// @param honest One flag per submission, in order.
    function submitEvaluation(uint256 taskId, bool[] calldata honest) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.requester != msg.sender) revert NotRequester(msg.sender);
        if (task.status != Status.Open) revert WrongStatus(taskId, task.status);
        if (block.timestamp <= task.deadline) revert EvaluationNotOpen(taskId);
        if (block.timestamp > uint256(task.deadline) + task.evaluationWindow) revert EvaluationClosed(taskId);
        Submission[] storage submissions = _submissions[taskId];
        uint256 count = submissions.length;
        if (honest.length != count) revert LengthMismatch(count, honest.length);
        task.status = Status.Evaluated;
        task.evaluatedAt = uint64(block.timestamp);
        task.evaluatedBlock = uint64(block.number);
        uint256 honestCount;
        for (uint256 i; i < count; ++i) {
            submissions[i].mark = honest[i] ? Mark.Honest : Mark.Dishonest;
            if (honest[i]) ++honestCount;
        }
        emit DatasetsEvaluated(taskId, honest);
        if (honestCount == 0) return; // Θ goes back to the requester at finalisation
        uint256 share = task.reward / honestCount;
        for (uint256 i; i < count; ++i) {
            if (!honest[i]) continue;
            address worker = submissions[i].worker;
            reputation.reward(worker);
            _pay(taskId, worker, share);
        }
        uint256 dust = task.reward - share * honestCount;
        task.reward = 0;
        _pay(taskId, msg.sender, dust);
    }

    // ------------------------------------------------------------------ workers

    /// @notice Sub_j: submits eURL_j = (E, c), the dataset URL encrypted to the requester's pk with the
    ///         context `encryptionContext(taskId, worker)`. One participation with the requester in RC.
    /// @param taskId The task.
    /// @param ephemeralX E.x.
    /// @param ephemeralY E.y.
    /// @param ciphertext c (1 .. MAX_URI_LENGTH bytes).
    /// @return index The submission's index.
    function submitDataset(uint256 taskId, uint256 ephemeralX, uint256 ephemeralY, bytes calldata ciphertext)
        external
        returns (uint256 index)
    {
        Task storage task = _existingTask(taskId);
        if (task.status != Status.Open || block.timestamp > task.deadline) revert SubmissionsClosed(taskId);
        address requester = task.requester;
        if (msg.sender == requester) revert RequesterCannotSubmit();
        if (_submitted[taskId][msg.sender]) revert AlreadySubmitted(msg.sender);
        Submission[] storage submissions = _submissions[taskId];
        if (submissions.length >= task.maxSubmissions) revert TaskFull(taskId);
        int256 rep = reputation.reputationOf(msg.sender);
        if (rep < task.minReputation) revert ReputationTooLow(msg.sender, rep, task.minReputation);
        if (!EciesLite.isUsablePoint(ephemeralX, ephemeralY)) revert InvalidEphemeralKey();
        _checkUri(ciphertext);
        _submitted[taskId][msg.sender] = true;
        index = submissions.length;
        bytes32 commitment =
            keccak256(abi.encode(EciesLite.pointAddress(ephemeralX, ephemeralY), keccak256(ciphertext)));
        submissions.push(Submission(msg.sender, Mark.Pending, commitment));
        emit DatasetSubmitted(taskId, index, msg.sender, ephemeralX, ephemeralY, ciphertext);
        reputation.recordParticipation(msg.sender, requester);
    }

    /// @notice Disputes a "dishonest" mark within T_dispute by revealing the URL and the encryption scalar e;
    ///         the re-encryption must equal Sub_j, then the oracle network votes.
    /// @param taskId The task.
    /// @param index The worker's submission.
    /// @param url The plaintext dataset URL (now public).
    /// @param ephemeralSecret e with E = e·G.
    /// @return ticketId The oracle ticket.
    function dispute(uint256 taskId, uint256 index, bytes calldata url, uint256 ephemeralSecret)
        external
        returns (uint256 ticketId)
    {
        Task storage task = _existingTask(taskId);
        if (task.status != Status.Evaluated) revert WrongStatus(taskId, task.status);
        Submission[] storage submissions = _submissions[taskId];
        if (index >= submissions.length) revert NotDisputable(taskId, index);
        Submission storage submission = submissions[index];
        if (submission.worker != msg.sender) revert NotWorker(msg.sender);
        if (submission.mark != Mark.Dishonest) revert NotDisputable(taskId, index);
        if (block.timestamp > uint256(task.evaluatedAt) + task.disputeWindow) revert DisputeWindowClosed(taskId);
        _checkUri(url);
        if (!_aligned(taskId, task, submission.commitment, url, ephemeralSecret)) revert DisputeMismatch();
        submission.mark = Mark.Disputed;
        task.openDisputes += 1;
        ticketId = oracles.open();
        _ticketSlot[ticketId] = (1 << 255) | (taskId << 8) | index;
        emit DisputeRaised(taskId, index, url, ticketId);
    }

    /// @notice The oracle network's decision on a dispute (OracleManager only).
    /// @param ticketId The ticket DC opened.
    /// @param qualified Whether the dataset was found qualified.
    function onDisputeResolved(uint256 ticketId, bool qualified) external {
        if (msg.sender != address(oracles)) revert NotOracleManager(msg.sender);
        uint256 packed = _ticketSlot[ticketId];
        if (packed == 0) revert UnknownTicket(ticketId);
        delete _ticketSlot[ticketId];
        uint256 taskId = (packed & ~uint256(1 << 255)) >> 8;
        uint256 index = packed & 0xff;
        Task storage task = _tasks[taskId];
        Submission storage submission = _submissions[taskId][index];
        task.openDisputes -= 1;
        emit DisputeResolved(taskId, index, qualified);
        if (qualified) {
            submission.mark = Mark.Won;
            task.winners += 1;
            reputation.reward(submission.worker);
            reputation.penalize(task.requester);
        } else {
            submission.mark = Mark.Lost;
        }
    }

    // ------------------------------------------------------------------ anyone

    /// @notice Settles a task (permissionless). Without submissions: Θ + α back. Without evaluation after
    ///         T_eval: every dataset counts as honest, α back. After an evaluation, once T_dispute is over and
    ///         every dispute resolved: α shared by the winners (or back to the requester after t_lock blocks),
    ///         unspent Θ back, -1 for each dishonest-marked worker who did not win.
    /// @param taskId The task.
    function finalize(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        Status status = task.status;
        Submission[] storage submissions = _submissions[taskId];
        uint256 count = submissions.length;
        address requester = task.requester;
        if (status == Status.Open) {
            if (block.timestamp <= task.deadline) revert TooEarly(taskId);
            if (count != 0 && block.timestamp <= uint256(task.deadline) + task.evaluationWindow) revert TooEarly(taskId);
            task.status = Status.Finalized;
            emit TaskFinalized(taskId, false, 0);
            uint256 reward = task.reward;
            if (count != 0) {
                uint256 share = reward / count;
                for (uint256 i; i < count; ++i) {
                    submissions[i].mark = Mark.Honest;
                    _pay(taskId, submissions[i].worker, share);
                }
                reward -= share * count;
            }
            task.reward = 0;
            _pay(taskId, requester, reward + task.compensation);
            task.compensation = 0;
            return;
        }
        if (status != Status.Evaluated) revert WrongStatus(taskId, status);
        if (block.timestamp <= uint256(task.evaluatedAt) + task.disputeWindow || task.openDisputes != 0) {
            revert TooEarly(taskId);
        }
        uint256 winners = task.winners;
        if (winners == 0 && block.number < uint256(task.evaluatedBlock) + task.lockBlocks) revert TooEarly(taskId);
        task.status = Status.Finalized;
        emit TaskFinalized(taskId, true, winners);
        uint256 compensation = task.compensation;
        uint256 share = winners == 0 ? 0 : compensation / winners;
        for (uint256 i; i < count; ++i) {
            Submission storage submission = submissions[i];
            Mark mark = submission.mark;
            if (mark == Mark.Won) _pay(taskId, submission.worker, share);
            else if (mark == Mark.Dishonest || mark == Mark.Lost) reputation.penalize(submission.worker);
        }
        uint256 refund = task.reward + compensation - share * winners;
        task.reward = 0;
        task.compensation = 0;
        _pay(taskId, requester, refund);
    }

    // ------------------------------------------------------------------ views

    /// @notice A task's record.
    /// @param taskId The task.
    /// @return The record.
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice A task's submissions.
    /// @param taskId The task.
    /// @return The list (at most MAX_SUBMISSIONS).
    function getSubmissions(uint256 taskId) external view returns (Submission[] memory) {
        return _submissions[taskId];
    }

    /// @notice Number of tasks created.
    /// @return The count.
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @notice The encryption context of `worker`'s Sub_j: keccak256(abi.encode(chainId, DC, taskId, worker)).
    /// @param taskId The task.
    /// @param worker The data worker.
    /// @return The 32-byte context.
    function encryptionContext(uint256 taskId, address worker) external view returns (bytes32) {
        return EciesLite.context(address(this), taskId, uint160(worker));
    }

    // ------------------------------------------------------------------ internals

    function _existingTask(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == Status.None) revert UnknownTask(taskId);
    }

    /// @dev Algorithm 4.2 line 17: Enc_pk(url; e) in the sender's context must reproduce Sub_j.
    function _aligned(
        uint256 taskId,
        Task storage task,
        bytes32 commitment,
        bytes calldata url,
        uint256 ephemeralSecret
    ) private view returns (bool) {
        address ephemeral = EciesLite.publicAddress(ephemeralSecret);
        if (ephemeral == address(0)) return false;
        bytes32 body = EciesLite.cipherHash(
            url,
            EciesLite.mulAddress(ephemeralSecret, task.keyX, task.keyY),
            EciesLite.context(address(this), taskId, uint160(msg.sender))
        );
        return keccak256(abi.encode(ephemeral, body)) == commitment;
    }

    function _pay(uint256 taskId, address to, uint256 amount) private {
        if (amount == 0) return;
        emit Paid(taskId, to, amount);
        token.safeTransfer(to, amount);
    }
}
