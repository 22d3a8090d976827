// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ActorRoles} from "../platform/ActorRoles.sol";
import {BigModArith} from "../platform/BigModArith.sol";
import {RSC} from "../platform/RSC.sol";
import {MExpmVerifier} from "./MExpmVerifier.sol";

/// @title MExpmMarket: escrowed, publicly verified offloading of batch modular exponentiation (extension)
/// @notice **Extension** of MExpm (seed 003): the paper specifies only Algorithm 2 and no payment,
///         deposit, timeout or penalty at all (spec 003 §4.1). This contract is the task lifecycle of spec
///         §4.3 around Algorithm 2 (run by `MExpmVerifier`), paid in MetaCoin (MTC):
///         1. `createTask` (vehicle, IV): escrows the payment and commits to Aux and the shuffle
///            permutation (`auxCommit`) and to the 2n+2 shuffled (base, exponent) pairs of TK ∪ VK
///            (`pairsCommit`), so that Aux stays hidden until the results are fixed (spec §4.2);
///         2. `acceptTask` (a registered MEC server, after checking the pairs it received against
///            `pairsCommit`): deposits the optional collateral;
///         3. `submitResult` / `submitResultSigned` (the server, or an RSU relaying its EIP-712 signature):
///            the 2n+2 outputs, each below L;
///         4. `revealAndVerify` (anyone holding the opening): checks the commitment, un-permutes, runs
///            Algorithm 2; pass: the server gets payment + collateral back and σ is emitted;
///            fail: a dispute window opens;
///         5. `disputeRejection` (the fix of a design gap of §4.3): the server opens `pairsCommit` and the
///            contract recomputes every output on chain; if all are correct the fault was the IV's Aux and
///            the server is paid, otherwise the IV gets refund + collateral. `finalizeRejection` settles
///            for the IV once the window has passed;
///         6. `claimByTimeout`: the IV is refunded when no result arrives by the submit deadline; the
///            server is paid when the IV does not reveal within the reveal window.
///         An honest server is therefore always paid, and the IV cannot obtain a reject for a correct
///         result. Soundness against a *cheating server* is only that of Eq. (5), which the published
///         scheme does not fully give (spec §5.4; see docs/modexp.md).
contract MExpmMarket is ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Largest batch size n (bounds calldata, loops and the on-chain recomputation of a dispute).
    uint256 public constant MAX_N = 32;
    /// @notice Widest modulus L in bytes (as MExpmVerifier).
    uint256 public constant MAX_MODULUS_BYTES = 512;
    /// @notice Most precompile gas the 2n+2 recomputations of a dispute may need (EIP-2565 pricing), so that
    ///         a dispute always fits in a block: a wide modulus allows a smaller n.
    uint256 public constant MAX_DISPUTE_GAS = 12_000_000;
    /// @notice EIP-712 type of a server-signed submission relayed by an RSU.
    bytes32 public constant SUBMISSION_TYPEHASH = keccak256("Submission(uint256 taskId,bytes32 outputsHash)");

    enum Status {
        None,
        Created, // payment escrowed, waiting for a server
        Accepted, // a server deposited its collateral and computes
        Submitted, // outputs on chain, waiting for the IV's reveal
        Rejected, // Eq. (5) failed: dispute window open
        Verified, // Eq. (5) held: server paid
        PaidByTimeout, // the IV did not reveal in time: server paid
        Refunded, // no result by the submit deadline: IV refunded
        DisputeWon, // the server proved every output correct: server paid
        RejectionFinal // rejection upheld: IV refunded, collateral slashed to the IV
    }

    /// @notice One task. `deadline` is the reveal deadline while Submitted and the dispute deadline while
    ///         Rejected.
    struct Task {
        address iv;
        uint64 submitDeadline;
        uint32 revealWindow;
        address server;
        uint64 deadline;
        uint8 n;
        Status status;
        uint128 payment;
        uint128 collateral;
        bytes32 auxCommit;
        bytes32 pairsCommit;
        bytes32 resultHash;
        bytes32 sigmaHash;
    }

    /// @notice What the IV fixes at creation.
    struct Terms {
        bytes modulus; // L = N·p, big-endian, a positive multiple of 32 bytes, odd
        uint256 n; // batch size: the server returns 2n+2 outputs
        uint256 payment; // MTC paid to the server on success
        uint256 collateral; // MTC the server must deposit (0: none)
        bytes32 auxCommit; // auxCommitment(opening)
        bytes32 pairsCommit; // pairsCommitment(shuffled pairs, salt)
        uint64 submitDeadline; // unix time by which the server must submit
        uint32 revealWindow; // seconds the IV has to reveal after the submission
    }

    /// @notice The opening of `auxCommit`: Aux = {rv3, v4, δ1, δ2}, the permutation and a salt.
    /// @dev `rv3` and `v4` have the modulus' width; `perm` has one byte per output: position j of the
    ///      submitted outputs holds canonical entry perm[j] of (Q0, γ_1..γ_n, Q1, γ'_1..γ'_n).
    struct Opening {
        bytes rv3;
        bytes v4;
        bytes delta1;
        bytes delta2;
        bytes perm;
        bytes32 salt;
    }

    /// @notice The payment token (MetaCoin).
    IERC20 public immutable token;
    /// @notice The registry in which servers must hold the MEC_SERVER role.
    RSC public immutable registry;
    /// @notice Algorithm 2.
    MExpmVerifier public immutable verifier;
    /// @notice Seconds a server has to dispute a rejection.
    uint64 public immutable disputeWindow;
    /// @notice Shortest reveal window an IV may set.
    uint32 public immutable minRevealWindow;

    /// @notice Number of tasks created (task ids are 0..taskCount-1).
    uint256 public taskCount;

    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => bytes) private _moduli;

    error ZeroAddress();
    error TaskNotFound(uint256 taskId);
    error WrongStatus(uint256 taskId, Status status);
    error InvalidModulus();
    error NoBases();
    error TooManyBases(uint256 n, uint256 max);
    error DisputeTooCostly(uint256 gas, uint256 max);
    error ZeroPayment();
    error AmountTooLarge();
    error DeadlineInPast(uint64 deadline);
    error RevealWindowTooShort(uint32 window, uint32 min);
    error SelfDealing();
    error NotMecServer(address account);
    error NotServer(address account);
    error DeadlinePassed(uint64 deadline);
    error DeadlineNotReached(uint64 deadline);
    error WrongOutputLength(uint256 length, uint256 expected);
    error OutputNotBelowModulus(uint256 index);
    error BadSignature();
    error ResultMismatch();
    error CommitmentMismatch();
    error BadPermutation();
    error PairsMismatch();

    event TaskCreated(
        uint256 indexed taskId,
        address indexed iv,
        uint256 n,
        uint256 payment,
        uint256 collateral,
        uint64 submitDeadline,
        uint32 revealWindow,
        bytes32 auxCommit,
        bytes32 pairsCommit,
        bytes modulus
    );
    event TaskAccepted(uint256 indexed taskId, address indexed server, uint256 collateral);
    event ResultSubmitted(
        uint256 indexed taskId, address indexed server, address submitter, uint64 revealDeadline, bytes outputs
    );
    event Verified(uint256 indexed taskId, bool ok, bytes sigma);
    event DisputeWindowOpened(uint256 indexed taskId, uint64 disputeDeadline);
    event DisputeResolved(uint256 indexed taskId, bool serverWon, uint256 firstWrongOutput);
    event RejectionFinalized(uint256 indexed taskId);
    event TimedOut(uint256 indexed taskId, Status outcome);
    event Paid(uint256 indexed taskId, address indexed server, uint256 amount);
    event Refunded(uint256 indexed taskId, address indexed iv, uint256 amount);
    event CollateralSlashed(uint256 indexed taskId, address indexed server, uint256 amount);

    /// @param token_ The payment token (MetaCoin).
    /// @param registry_ The registry (RSC).
    /// @param verifier_ The Algorithm 2 verifier.
    /// @param disputeWindow_ Seconds a server has to dispute a rejection.
    /// @param minRevealWindow_ Shortest reveal window an IV may choose.
    constructor(
        IERC20 token_,
        RSC registry_,
        MExpmVerifier verifier_,
        uint64 disputeWindow_,
        uint32 minRevealWindow_
    ) EIP712("MExpmMarket", "1") {
        if (address(token_) == address(0) || address(registry_) == address(0) || address(verifier_) == address(0))
        {
            revert ZeroAddress();
        }
        token = token_;
        registry = registry_;
        verifier = verifier_;
        disputeWindow = disputeWindow_;
        minRevealWindow = minRevealWindow_;
    }

    // ------------------------------------------------------------------ lifecycle

    /// @notice Creates a task and escrows `terms.payment` MTC from the sender (approve the market first).
    /// @param terms Modulus, batch size, payment, collateral, both commitments, deadline and reveal window.
    /// @return taskId The new task's id.
    function createTask(Terms calldata terms) external nonReentrant returns (uint256 taskId) {
        uint256 width = terms.modulus.length;
        if (width == 0 || width % 32 != 0 || width > MAX_MODULUS_BYTES || uint8(terms.modulus[width - 1]) & 1 == 0)
        {
            revert InvalidModulus();
        }
        if (terms.n == 0) revert NoBases();
        if (terms.n > MAX_N) revert TooManyBases(terms.n, MAX_N);
        uint256 disputeGas = disputeGasBound(terms.n, width);
        if (disputeGas > MAX_DISPUTE_GAS) revert DisputeTooCostly(disputeGas, MAX_DISPUTE_GAS);
        if (terms.payment == 0) revert ZeroPayment();
        if (terms.payment > type(uint128).max || terms.collateral > type(uint128).max) revert AmountTooLarge();
        if (terms.submitDeadline <= block.timestamp) revert DeadlineInPast(terms.submitDeadline);
        if (terms.revealWindow < minRevealWindow) revert RevealWindowTooShort(terms.revealWindow, minRevealWindow);

        taskId = taskCount++;
        Task storage task = _tasks[taskId];
        task.iv = msg.sender;
        task.submitDeadline = terms.submitDeadline;
        task.revealWindow = terms.revealWindow;
        task.n = uint8(terms.n);
        task.status = Status.Created;
        task.payment = uint128(terms.payment);
        task.collateral = uint128(terms.collateral);
        task.auxCommit = terms.auxCommit;
        task.pairsCommit = terms.pairsCommit;
        _moduli[taskId] = terms.modulus;
        emit TaskCreated(
            taskId,
            msg.sender,
            terms.n,
            terms.payment,
            terms.collateral,
            terms.submitDeadline,
            terms.revealWindow,
            terms.auxCommit,
            terms.pairsCommit,
            terms.modulus
        );
        token.safeTransferFrom(msg.sender, address(this), terms.payment);
    }

    /// @notice Takes a task as its MEC server (role MEC_SERVER in RSC) and deposits the collateral.
    /// @dev Check the received pairs against `pairsCommit` (see `pairsCommitment`) before accepting.
    /// @param taskId The task.
    function acceptTask(uint256 taskId) external nonReentrant {
        Task storage task = _task(taskId);
        _expect(taskId, task, Status.Created);
        if (block.timestamp > task.submitDeadline) revert DeadlinePassed(task.submitDeadline);
        if (msg.sender == task.iv) revert SelfDealing();
        if (!registry.isActive(msg.sender, ActorRoles.MEC_SERVER)) revert NotMecServer(msg.sender);
        task.server = msg.sender;
        task.status = Status.Accepted;
        uint256 collateral = task.collateral;
        emit TaskAccepted(taskId, msg.sender, collateral);
        if (collateral > 0) token.safeTransferFrom(msg.sender, address(this), collateral);
    }

    /// @notice Submits the 2n+2 outputs (server only), in the order the pairs were received.
    /// @param taskId The task.
    /// @param outputs 2n+2 big-endian values of the modulus' width, concatenated, each below L.
    function submitResult(uint256 taskId, bytes calldata outputs) external {
        Task storage task = _task(taskId);
        if (msg.sender != task.server) revert NotServer(msg.sender);
        _submit(taskId, task, outputs);
    }

    /// @notice Submits outputs signed by the task's server (EIP-712 `Submission`), e.g. relayed by an RSU.
    /// @param taskId The task.
    /// @param outputs As in `submitResult`.
    /// @param signature The server's 65-byte signature of `submissionDigest(taskId, keccak256(outputs))`.
    function submitResultSigned(uint256 taskId, bytes calldata outputs, bytes calldata signature) external {
        Task storage task = _task(taskId);
        (address signer, ECDSA.RecoverError failure,) =
            ECDSA.tryRecover(submissionDigest(taskId, keccak256(outputs)), signature);
        if (failure != ECDSA.RecoverError.NoError || signer == address(0) || signer != task.server) {
            revert BadSignature();
        }
        _submit(taskId, task, outputs);
    }

    /// @notice Opens `auxCommit` and runs Algorithm 2 on the submitted outputs (anyone holding the opening).
    ///         Pass: the server gets payment + collateral and σ is emitted. Fail: the dispute window opens.
    /// @param taskId The task.
    /// @param outputs The submitted outputs (as emitted by ResultSubmitted).
    /// @param opening Aux, the permutation and the salt committed at creation.
    /// @return ok Whether Eq. (5) held.
    /// @return sigma The encoded result σ = rv3·Q0^δ1·∏γ_i mod L when ok, else empty.
    function revealAndVerify(uint256 taskId, bytes calldata outputs, Opening calldata opening)
        external
        nonReentrant
        returns (bool ok, bytes memory sigma)
    {
        Task storage task = _task(taskId);
        _expect(taskId, task, Status.Submitted);
        if (block.timestamp > task.deadline) revert DeadlinePassed(task.deadline);
        if (keccak256(outputs) != task.resultHash) revert ResultMismatch();
        if (auxCommitment(opening) != task.auxCommit) revert CommitmentMismatch();
        (ok, sigma) = _verify(task.n, _moduli[taskId], outputs, opening);
        emit Verified(taskId, ok, sigma);
        if (ok) {
            task.status = Status.Verified;
            task.sigmaHash = keccak256(sigma);
            _payServer(taskId, task);
        } else {
            task.status = Status.Rejected;
            uint64 disputeDeadline = uint64(block.timestamp) + disputeWindow;
            task.deadline = disputeDeadline;
            emit DisputeWindowOpened(taskId, disputeDeadline);
        }
    }

    /// @notice After a rejection, proves the outputs correct: opens `pairsCommit` and recomputes every
    ///         output base^exponent mod L on chain. All correct: the IV's Aux was at fault and the server is
    ///         paid. One wrong: the rejection is upheld at once (IV refunded, collateral slashed).
    /// @param taskId The task.
    /// @param outputs The submitted outputs.
    /// @param pairs The 2n+2 (base, exponent) pairs in the order sent, each value of the modulus' width.
    /// @param pairsSalt The salt of `pairsCommit`.
    /// @return serverWon Whether every output was correct.
    function disputeRejection(uint256 taskId, bytes calldata outputs, bytes calldata pairs, bytes32 pairsSalt)
        external
        nonReentrant
        returns (bool serverWon)
    {
        Task storage task = _task(taskId);
        _expect(taskId, task, Status.Rejected);
        if (block.timestamp > task.deadline) revert DeadlinePassed(task.deadline);
        if (keccak256(outputs) != task.resultHash) revert ResultMismatch();
        if (pairsCommitment(pairs, pairsSalt) != task.pairsCommit) revert PairsMismatch();
        bytes memory modulus = _moduli[taskId];
        uint256 width = modulus.length;
        uint256 count = 2 * uint256(task.n) + 2;
        if (pairs.length != 2 * count * width) revert PairsMismatch();
        uint256 wrong = type(uint256).max;
        for (uint256 j; j < count; ++j) {
            uint256 at = 2 * j * width;
            bytes memory value = BigModArith.modexp(pairs[at:at + width], pairs[at + width:at + 2 * width], modulus);
            if (keccak256(value) != keccak256(outputs[j * width:(j + 1) * width])) {
                wrong = j;
                break;
            }
        }
        serverWon = wrong == type(uint256).max;
        emit DisputeResolved(taskId, serverWon, wrong);
        if (serverWon) {
            task.status = Status.DisputeWon;
            _payServer(taskId, task);
        } else {
            task.status = Status.RejectionFinal;
            _refundIv(taskId, task);
        }
    }

    /// @notice Upholds a rejection once the dispute window has passed: the IV gets the payment back and the
    ///         server's collateral.
    /// @param taskId The task.
    function finalizeRejection(uint256 taskId) external nonReentrant {
        Task storage task = _task(taskId);
        _expect(taskId, task, Status.Rejected);
        if (block.timestamp <= task.deadline) revert DeadlineNotReached(task.deadline);
        task.status = Status.RejectionFinal;
        emit RejectionFinalized(taskId);
        _refundIv(taskId, task);
    }

    /// @notice Settles a stalled task: refunds the IV (payment, plus the collateral of a server that accepted)
    ///         when nothing was submitted by the submit deadline; pays the server when the IV did not reveal
    ///         within the reveal window.
    /// @param taskId The task.
    function claimByTimeout(uint256 taskId) external nonReentrant {
        Task storage task = _task(taskId);
        Status status = task.status;
        if (status == Status.Created || status == Status.Accepted) {
            if (block.timestamp <= task.submitDeadline) revert DeadlineNotReached(task.submitDeadline);
            task.status = Status.Refunded;
            emit TimedOut(taskId, Status.Refunded);
            _refundIv(taskId, task);
        } else if (status == Status.Submitted) {
            if (block.timestamp <= task.deadline) revert DeadlineNotReached(task.deadline);
            task.status = Status.PaidByTimeout;
            emit TimedOut(taskId, Status.PaidByTimeout);
            _payServer(taskId, task);
        } else {
            revert WrongStatus(taskId, status);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice A task's record.
    /// @param taskId The task.
    /// @return The record (reverts TaskNotFound for an unknown id).
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _task(taskId);
    }

    /// @notice A task's modulus L.
    /// @param taskId The task.
    /// @return The big-endian modulus.
    function modulusOf(uint256 taskId) external view returns (bytes memory) {
        _task(taskId);
        return _moduli[taskId];
    }

    /// @notice The commitment to Aux, the permutation and a salt: keccak256(abi.encode(opening fields)).
    /// @param opening The opening.
    /// @return The commitment.
    function auxCommitment(Opening calldata opening) public pure returns (bytes32) {
        return keccak256(
            abi.encode(opening.rv3, opening.v4, opening.delta1, opening.delta2, opening.perm, opening.salt)
        );
    }

    /// @notice The commitment to the shuffled pairs: keccak256(abi.encode(pairs, salt)).
    /// @param pairs The 2n+2 (base, exponent) pairs, each value of the modulus' width, concatenated.
    /// @param salt A random salt.
    /// @return The commitment.
    function pairsCommitment(bytes calldata pairs, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(pairs, salt));
    }

    /// @notice Upper bound of the precompile gas of a dispute's 2n+2 recomputations (EIP-2565: words² ·
    ///         iterations / 3 per modexp, an exponent of the modulus' width with its top bit set).
    /// @param n The batch size.
    /// @param width The modulus' width in bytes.
    /// @return The bound.
    function disputeGasBound(uint256 n, uint256 width) public pure returns (uint256) {
        uint256 words = (width + 7) / 8;
        uint256 perModexp = words * words * (8 * width - 1) / 3;
        if (perModexp < 200) perModexp = 200;
        return (2 * n + 2) * perModexp;
    }

    /// @notice The EIP-712 digest a server signs to have `outputs` relayed.
    /// @param taskId The task.
    /// @param outputsHash keccak256 of the outputs.
    /// @return The digest.
    function submissionDigest(uint256 taskId, bytes32 outputsHash) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SUBMISSION_TYPEHASH, taskId, outputsHash)));
    }

    // ------------------------------------------------------------------ internals

    function _task(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == Status.None) revert TaskNotFound(taskId);
    }

    function _expect(uint256 taskId, Task storage task, Status wanted) private view {
        if (task.status != wanted) revert WrongStatus(taskId, task.status);
    }

    function _submit(uint256 taskId, Task storage task, bytes calldata outputs) private {
        _expect(taskId, task, Status.Accepted);
        if (block.timestamp > task.submitDeadline) revert DeadlinePassed(task.submitDeadline);
        bytes memory modulus = _moduli[taskId];
        uint256 width = modulus.length;
        uint256 count = 2 * uint256(task.n) + 2;
        if (outputs.length != count * width) revert WrongOutputLength(outputs.length, count * width);
        for (uint256 j; j < count; ++j) {
            if (!_below(outputs, j * width, modulus)) revert OutputNotBelowModulus(j);
        }
        uint64 revealDeadline = uint64(block.timestamp) + task.revealWindow;
        task.resultHash = keccak256(outputs);
        task.deadline = revealDeadline;
        task.status = Status.Submitted;
        emit ResultSubmitted(taskId, task.server, msg.sender, revealDeadline, outputs);
    }

    /// @dev Un-permutes the outputs into σE, πE and calls Algorithm 2.
    function _verify(uint256 n, bytes memory modulus, bytes calldata outputs, Opening calldata opening)
        private
        view
        returns (bool, bytes memory)
    {
        MExpmVerifier.Faithful memory input = _unpermute(n, modulus, outputs, opening.perm);
        input.rv3 = opening.rv3;
        input.v4 = opening.v4;
        input.delta1 = opening.delta1;
        input.delta2 = opening.delta2;
        return verifier.verify(input);
    }

    /// @dev Position j of `outputs` holds canonical entry perm[j] of (Q0, γ_1..γ_n, Q1, γ'_1..γ'_n).
    function _unpermute(uint256 n, bytes memory modulus, bytes calldata outputs, bytes calldata perm)
        private
        pure
        returns (MExpmVerifier.Faithful memory input)
    {
        uint256 width = modulus.length;
        if (perm.length != 2 * n + 2) revert BadPermutation();
        input.modulus = modulus;
        input.q0 = new bytes(width);
        input.q1 = new bytes(width);
        input.gammas = new bytes(n * width);
        input.gammaPrimes = new bytes(n * width);
        uint256 seen;
        for (uint256 j; j < perm.length; ++j) {
            uint256 c = uint8(perm[j]);
            if (c >= perm.length || seen & (1 << c) != 0) revert BadPermutation();
            seen |= 1 << c;
            (bytes memory target, uint256 offset) = _slotOf(input, c, n, width);
            _copy(target, offset, outputs[j * width:(j + 1) * width]);
        }
    }

    function _slotOf(MExpmVerifier.Faithful memory input, uint256 c, uint256 n, uint256 width)
        private
        pure
        returns (bytes memory target, uint256 offset)
    {
        if (c == 0) return (input.q0, 0);
        if (c <= n) return (input.gammas, (c - 1) * width);
        if (c == n + 1) return (input.q1, 0);
        return (input.gammaPrimes, (c - n - 2) * width);
    }

    function _copy(bytes memory target, uint256 offset, bytes calldata value) private pure {
        assembly ("memory-safe") {
            calldatacopy(add(add(target, 0x20), offset), value.offset, value.length)
        }
    }

    /// @dev Whether the `width`-byte value at `offset` of `data` is below `modulus` (same width).
    function _below(bytes calldata data, uint256 offset, bytes memory modulus) private pure returns (bool) {
        uint256 width = modulus.length;
        for (uint256 i; i < width; i += 32) {
            uint256 x = uint256(bytes32(data[offset + i:offset + i + 32]));
            uint256 y;
            assembly ("memory-safe") {
                y := mload(add(add(modulus, 0x20), i))
            }
            if (x != y) return x < y;
        }
        return false;
    }

    function _payServer(uint256 taskId, Task storage task) private {
        uint256 amount = uint256(task.payment) + task.collateral;
        emit Paid(taskId, task.server, amount);
        token.safeTransfer(task.server, amount);
    }

    function _refundIv(uint256 taskId, Task storage task) private {
        uint256 collateral = task.server == address(0) ? 0 : task.collateral;
        if (collateral > 0) emit CollateralSlashed(taskId, task.server, collateral);
        emit Refunded(taskId, task.iv, uint256(task.payment) + collateral);
        token.safeTransfer(task.iv, uint256(task.payment) + collateral);
    }
}
