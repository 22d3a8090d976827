// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {CrowdTaskChecks} from "./CrowdTaskChecks.sol";
import {ICommittee} from "./ICommittee.sol";
import {IReputation} from "./IReputation.sol";

/// @title MLC: the Machine Learning Contract of MetaAICM (seed 001, §4.5.1.1, Algorithm 4.1, §4.5.3)
/// @notice An MSP crowdsources an ML model: T_mc = {Θ | T_desc | t_deadline | R_min} with the reward Θ
///         escrowed in MetaCoin at creation. ML workers whose reputation is at least R_min submit the IPFS
///         URL of their model before the deadline ("MLW_j is refused" otherwise). After the deadline the
///         requester publishes the validation data D_val; the committee evaluates every model off chain and
///         reports scores here. Payout (thesis): 50 % of Θ to the best model; the rest shared by the other
///         models scoring above the threshold τ; reputation +A/P for models above τ and -1 for the others.
///         If the requester never publishes D_val, Θ is split equally among all submitters.
/// @dev Gaps filled as spec §2.2 / §7 A1, A5-A8 recommend: windows instead of `t_current == t_deadline`
///      (publication within T_pub, committee reports within T_eval); permissionless `finalize` (the EVM has no
///      timers); scores are integers in millionths (SCORE_SCALE = 1.0), aggregated per model as the median of
///      the committee reports (mean of the two middle values for an even count, rounded down); ties go to the
///      earliest submission; strict "> τ"; the remaining half is split equally, dust and an empty share go back
///      to the requester; no submissions: Θ refunded; a committee that misses its quorum within T_eval falls
///      back to the equal split (workers are not punished for it); optional keccak256 commitment to the D_val
///      URI at creation so that the requester cannot pick D_val after seeing the models. The best model is
///      paid even below τ (the thesis's rule). Payouts are pushed in one loop bounded by MAX_SUBMISSIONS
///      (MetaCoin has no transfer hooks).
contract MLC is ReentrancyGuardTransient, CrowdTaskChecks {
    using SafeERC20 for IERC20;

    /// @notice Most committee reports a task stores.
    uint256 public constant MAX_REPORTS = 32;
    /// @notice Score of a perfect model (1.0), e.g. accuracy 0.9123 is 912_300.
    uint32 public constant SCORE_SCALE = 1_000_000;

    enum Status {
        None,
        Open, // accepting submissions until the deadline, then waiting for D_val
        Evaluating, // D_val published, committee reporting
        Finalized, // best model selected and paid
        FinalizedNoValidation, // equal split (no D_val, or no committee quorum)
        Refunded // nobody submitted
    }

    /// @notice Parameters of a new task (T_mc plus the windows and rules the thesis leaves open).
    struct TaskParams {
        uint256 reward; // Θ
        string descURI; // T_desc (IPFS URI of the task description)
        uint64 deadline; // t_deadline (unix seconds)
        int256 minReputation; // R_min (RC fixed point)
        uint32 threshold; // τ in SCORE_SCALE units (thesis example: 85 % = 850_000)
        uint32 publishWindow; // T_pub: seconds after the deadline to publish D_val
        uint32 evaluationWindow; // T_eval: seconds after publication for committee reports
        uint8 maxSubmissions; // 1 .. MAX_SUBMISSIONS
        bytes32 validationCommit; // keccak256 of the D_val URI, or zero for none
    }

    struct Task {
        address requester; // slot 0
        uint96 reward;
        int128 minReputation; // slot 1
        uint64 deadline;
        uint64 validationPublishedAt;
        uint32 threshold; // slot 2
        uint32 publishWindow;
        uint32 evaluationWindow;
        uint8 maxSubmissions;
        uint8 committeeSize; // snapshot at publication
        uint8 quorum; // majority of committeeSize
        uint8 reports;
        Status status;
        uint8 bestIndex;
        bytes32 validationCommit; // slot 3
    }

    struct Submission {
        address worker;
        uint64 submittedAt;
        string modelURI;
    }

    /// @notice The MetaCoin (MTC) token rewards are paid in.
    IERC20 public immutable token;
    /// @notice The Reputation Contract (RC).
    IReputation public immutable reputation;
    /// @notice The committee whose members report model scores.
    ICommittee public immutable committee;

    uint256 private _taskCount;
    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => Submission[]) private _submissions;
    mapping(uint256 taskId => mapping(address worker => bool)) private _submitted;
    mapping(uint256 taskId => address[]) private _reporters;
    mapping(uint256 taskId => mapping(address member => uint32[])) private _scores;

    error ZeroAddress();
    error InvalidReward(uint256 reward);
    error InvalidThreshold(uint32 threshold);
    error UnknownTask(uint256 taskId);
    error WrongStatus(uint256 taskId, Status status);
    error SubmissionsClosed(uint256 taskId);
    error ReputationTooLow(address worker, int256 reputation, int256 minimum);
    error RequesterCannotSubmit();
    error AlreadySubmitted(address worker);
    error TaskFull(uint256 taskId);
    error NotRequester(address caller);
    error PublicationClosed(uint256 taskId);
    error PublicationNotOpen(uint256 taskId);
    error CommitmentMismatch();
    error NoSubmissions(uint256 taskId);
    error EmptyCommittee();
    error NotCommitteeMember(address caller);
    error EvaluationClosed(uint256 taskId);
    error AlreadyReported(address member);
    error ReportsComplete(uint256 taskId);
    error ScoreCountMismatch(uint256 expected, uint256 got);
    error ScoreOutOfRange(uint256 index, uint32 score);
    error TooEarly(uint256 taskId);

    event ModelTaskCreated(
        uint256 indexed taskId,
        address indexed requester,
        uint256 reward,
        string descURI,
        uint64 deadline,
        int256 minReputation,
        uint32 threshold,
        bytes32 validationCommit
    );
    event ModelSubmitted(uint256 indexed taskId, uint256 indexed index, address indexed worker, string modelURI);
    event ValidationDataPublished(uint256 indexed taskId, string validationURI, uint8 committeeSize, uint8 quorum);
    event ScoresSubmitted(uint256 indexed taskId, address indexed member, uint32[] scores);
    event BestModelSelected(
        uint256 indexed taskId, uint256 index, address indexed worker, string modelURI, uint32 score
    );
    event TaskFinalizedNoValidation(uint256 indexed taskId, bool committeeFailed);
    event TaskRefunded(uint256 indexed taskId, uint256 amount);
    event RewardPaid(uint256 indexed taskId, address indexed to, uint256 amount);

    /// @param token_ MetaCoin.
    /// @param reputation_ RC; this contract needs its WRITER_ROLE.
    /// @param committee_ The evaluation committee (the reputation-elected `CommitteeManager`).
    constructor(IERC20 token_, IReputation reputation_, ICommittee committee_) {
        if (address(token_) == address(0) || address(reputation_) == address(0) || address(committee_) == address(0))
        {
            revert ZeroAddress();
        }
        token = token_;
        reputation = reputation_;
        committee = committee_;
    }

    // ------------------------------------------------------------------ requester

    /// @notice Creates a model crowdsourcing task (T_mc) and escrows Θ (approve MLC first). The creation
    ///         counts as one participation of the requester in RC.
    /// @param params Θ, T_desc, t_deadline, R_min, τ, T_pub, T_eval, capacity and the optional D_val commitment.
    /// @return taskId The new task's id (from 1).
    function createTask(TaskParams calldata params) external nonReentrant returns (uint256 taskId) {
        if (params.reward == 0 || params.reward > type(uint96).max) revert InvalidReward(params.reward);
        if (params.deadline <= block.timestamp) revert InvalidDeadline(params.deadline);
        if (params.publishWindow == 0 || params.evaluationWindow == 0) revert InvalidWindow();
        if (params.threshold > SCORE_SCALE) revert InvalidThreshold(params.threshold);
        _checkMaxSubmissions(params.maxSubmissions);
        _checkUri(bytes(params.descURI));
        _checkMinReputation(params.minReputation);
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        task.requester = msg.sender;
        task.reward = uint96(params.reward);
        task.minReputation = int128(params.minReputation);
        task.deadline = params.deadline;
        task.threshold = params.threshold;
        task.publishWindow = params.publishWindow;
        task.evaluationWindow = params.evaluationWindow;
        task.maxSubmissions = params.maxSubmissions;
        task.status = Status.Open;
        task.validationCommit = params.validationCommit;
        emit ModelTaskCreated(
            taskId,
            msg.sender,
            params.reward,
            params.descURI,
            params.deadline,
            params.minReputation,
            params.threshold,
            params.validationCommit
        );
        reputation.recordParticipation(msg.sender, address(0));
        token.safeTransferFrom(msg.sender, address(this), params.reward);
    }

    /// @notice Publishes the validation data D_val for the committee, after the deadline and within T_pub.
    /// @param taskId The task.
    /// @param validationURI IPFS URI of D_val (must hash to the commitment when one was given).
    function publishValidationData(uint256 taskId, string calldata validationURI) external {
        Task storage task = _existingTask(taskId);
        if (task.requester != msg.sender) revert NotRequester(msg.sender);
        if (task.status != Status.Open) revert WrongStatus(taskId, task.status);
        if (block.timestamp <= task.deadline) revert PublicationNotOpen(taskId);
        if (block.timestamp > uint256(task.deadline) + task.publishWindow) revert PublicationClosed(taskId);
        _checkUri(bytes(validationURI));
        if (task.validationCommit != bytes32(0) && keccak256(bytes(validationURI)) != task.validationCommit) {
            revert CommitmentMismatch();
        }
        if (_submissions[taskId].length == 0) revert NoSubmissions(taskId);
        uint256 size = committee.memberCount();
        if (size == 0) revert EmptyCommittee();
        if (size > MAX_REPORTS) size = MAX_REPORTS;
        task.status = Status.Evaluating;
        task.validationPublishedAt = uint64(block.timestamp);
        task.committeeSize = uint8(size);
        task.quorum = uint8(size / 2 + 1);
        emit ValidationDataPublished(taskId, validationURI, uint8(size), uint8(size / 2 + 1));
    }

    // ------------------------------------------------------------------ workers and committee

    /// @notice Submits a model (its IPFS URI) before the deadline; refused below R_min. Counts as one
    ///         participation of the worker with the requester as counterparty.
    /// @param taskId The task.
    /// @param modelURI IPFS URI of the model (ONNX in metatrust).
    /// @return index The submission's index in the task.
    function submitModel(uint256 taskId, string calldata modelURI) external returns (uint256 index) {
        Task storage task = _existingTask(taskId);
        if (task.status != Status.Open || block.timestamp > task.deadline) revert SubmissionsClosed(taskId);
        address requester = task.requester;
        if (msg.sender == requester) revert RequesterCannotSubmit();
        if (_submitted[taskId][msg.sender]) revert AlreadySubmitted(msg.sender);
        Submission[] storage submissions = _submissions[taskId];
        if (submissions.length >= task.maxSubmissions) revert TaskFull(taskId);
        int256 rep = reputation.reputationOf(msg.sender);
        if (rep < task.minReputation) revert ReputationTooLow(msg.sender, rep, task.minReputation);
        _checkUri(bytes(modelURI));
        _submitted[taskId][msg.sender] = true;
        index = submissions.length;
        submissions.push(Submission(msg.sender, uint64(block.timestamp), modelURI));
        emit ModelSubmitted(taskId, index, msg.sender, modelURI);
        reputation.recordParticipation(msg.sender, requester);
    }

    /// @notice A committee member reports one score per submission (SCORE_SCALE = 1.0), within T_eval.
    /// @param taskId The task.
    /// @param scores Scores in submission order.
    function submitScores(uint256 taskId, uint32[] calldata scores) external {
        Task storage task = _existingTask(taskId);
        if (task.status != Status.Evaluating) revert WrongStatus(taskId, task.status);
        if (!committee.isMember(msg.sender)) revert NotCommitteeMember(msg.sender);
        if (block.timestamp > uint256(task.validationPublishedAt) + task.evaluationWindow) {
            revert EvaluationClosed(taskId);
        }
        if (_scores[taskId][msg.sender].length != 0) revert AlreadyReported(msg.sender);
        if (task.reports >= task.committeeSize) revert ReportsComplete(taskId);
        uint256 count = _submissions[taskId].length;
        if (scores.length != count) revert ScoreCountMismatch(count, scores.length);
        for (uint256 i; i < count; ++i) {
            if (scores[i] > SCORE_SCALE) revert ScoreOutOfRange(i, scores[i]);
        }
        _scores[taskId][msg.sender] = scores;
        _reporters[taskId].push(msg.sender);
        task.reports += 1;
        emit ScoresSubmitted(taskId, msg.sender, scores);
    }

    // ------------------------------------------------------------------ anyone

    /// @notice Settles a task once its windows allow (permissionless): refund when nobody submitted; equal
    ///         split when D_val was not published within T_pub (or the committee missed its quorum within
    ///         T_eval); otherwise best model 50 %, the others above τ share the rest, reputation updated.
    /// @param taskId The task.
    function finalize(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        Status status = task.status;
        uint256 count = _submissions[taskId].length;
        if (status == Status.Open) {
            if (block.timestamp <= task.deadline) revert TooEarly(taskId);
            if (count == 0) {
                task.status = Status.Refunded;
                emit TaskRefunded(taskId, task.reward);
                token.safeTransfer(task.requester, task.reward);
                return;
            }
            if (block.timestamp <= uint256(task.deadline) + task.publishWindow) revert TooEarly(taskId);
            _equalSplit(taskId, task, count, false);
        } else if (status == Status.Evaluating) {
            bool complete = task.reports >= task.committeeSize;
            bool expired = block.timestamp > uint256(task.validationPublishedAt) + task.evaluationWindow;
            if (!complete && !expired) revert TooEarly(taskId);
            if (task.reports < task.quorum) _equalSplit(taskId, task, count, true);
            else _settleScored(taskId, task, count);
        } else {
            revert WrongStatus(taskId, status);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice A task's record.
    /// @param taskId The task.
    /// @return The record (zeros when unknown).
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice A task's submissions in order.
    /// @param taskId The task.
    /// @return The list (at most MAX_SUBMISSIONS entries).
    function getSubmissions(uint256 taskId) external view returns (Submission[] memory) {
        return _submissions[taskId];
    }

    /// @notice The scores a committee member reported (empty when none).
    /// @param taskId The task.
    /// @param member The member.
    /// @return The scores in submission order.
    function scoresOf(uint256 taskId, address member) external view returns (uint32[] memory) {
        return _scores[taskId][member];
    }

    /// @notice The aggregated (median) score of every submission from the reports so far.
    /// @param taskId The task.
    /// @return The medians in submission order (zeros before any report).
    function medianScores(uint256 taskId) external view returns (uint32[] memory) {
        return _medians(taskId, _submissions[taskId].length);
    }

    /// @notice Number of tasks created so far (ids run 1 .. taskCount).
    /// @return The count.
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    // ------------------------------------------------------------------ internals

    function _existingTask(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == Status.None) revert UnknownTask(taskId);
    }

    /// @dev Θ split equally among all submitters (thesis rule without D_val); dust to the requester.
    function _equalSplit(uint256 taskId, Task storage task, uint256 count, bool committeeFailed) private {
        task.status = Status.FinalizedNoValidation;
        emit TaskFinalizedNoValidation(taskId, committeeFailed);
        uint256 reward = task.reward;
        uint256 share = reward / count;
        Submission[] storage submissions = _submissions[taskId];
        for (uint256 i; i < count; ++i) {
            _pay(taskId, submissions[i].worker, share);
        }
        _pay(taskId, task.requester, reward - share * count);
    }

    /// @dev Best model 50 %; the other models strictly above τ share the rest; reputation for all.
    function _settleScored(uint256 taskId, Task storage task, uint256 count) private {
        uint32[] memory medians = _medians(taskId, count);
        uint256 best;
        for (uint256 i = 1; i < count; ++i) {
            if (medians[i] > medians[best]) best = i; // ties keep the earliest
        }
        task.status = Status.Finalized;
        task.bestIndex = uint8(best);
        Submission[] storage submissions = _submissions[taskId];
        emit BestModelSelected(taskId, best, submissions[best].worker, submissions[best].modelURI, medians[best]);

        uint256 reward = task.reward;
        uint256 half = reward / 2;
        uint256 rest = reward - half;
        uint32 threshold = task.threshold;
        uint256 qualified;
        for (uint256 i; i < count; ++i) {
            if (i != best && medians[i] > threshold) ++qualified;
        }
        _pay(taskId, submissions[best].worker, half);
        uint256 share = qualified == 0 ? 0 : rest / qualified;
        for (uint256 i; i < count; ++i) {
            address worker = submissions[i].worker;
            bool above = medians[i] > threshold;
            if (i != best && above) _pay(taskId, worker, share);
            if (above) reputation.reward(worker);
            else reputation.penalize(worker);
        }
        _pay(taskId, task.requester, rest - share * qualified);
    }

    function _pay(uint256 taskId, address to, uint256 amount) private {
        if (amount == 0) return;
        emit RewardPaid(taskId, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @dev Per-submission median over the stored reports (at most MAX_REPORTS values each).
    function _medians(uint256 taskId, uint256 count) private view returns (uint32[] memory medians) {
        medians = new uint32[](count);
        address[] storage reporters = _reporters[taskId];
        uint256 reports = reporters.length;
        if (reports == 0) return medians;
        uint32[] memory column = new uint32[](reports);
        for (uint256 j; j < count; ++j) {
            for (uint256 r; r < reports; ++r) {
                uint32 value = _scores[taskId][reporters[r]][j];
                uint256 k = r;
                while (k > 0 && column[k - 1] > value) {
                    column[k] = column[k - 1];
                    --k;
                }
                column[k] = value;
            }
            uint256 middle = reports / 2;
            medians[j] = reports % 2 == 1
                ? column[middle]
                : uint32((uint256(column[middle - 1]) + column[middle]) / 2);
        }
    }
}
