// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ITaskRoster} from "./ITaskRoster.sol";

/// @title StateChannelManager: two-party state channels between the computing servers of a Web3 task
/// @notice Seed 004 ("Blockchain-assisted privacy-preserving data computing for Web3"): "both parties need to
///         send a request to the state channel management contract respectively to lock their on-chain
///         status"; the channel is revoked with "the newest status"; "during the set time period, the
///         authenticity of the current status can be challenged. If successful, the on-chain status will be
///         updated according to the newly uploaded status." The paper fixes no state format, signature,
///         period or escrow; the design is spec 004 §2.6 and §3.2.1–3.2.3: nonce-ordered states co-signed
///         with EIP-712, a transcript hash chain over every off-chain transmission, MTC escrow (possibly 0).
/// @dev Storage is two words while a channel is opening or open and three while it is disputed:
///      - the parties are not stored: the channel id is keccak256(chainId, this, taskId, partyA, partyB) with
///        partyA < partyB, so every call names the parties and the id proves them (calldata is cheaper than
///        storage);
///      - a disputed state is stored as its EIP-712 struct hash plus its nonce; `settle` takes the state
///        itself and checks it against the hash;
///      - a channel id is used once: a settled or cancelled channel stays as a tombstone, so no state signed
///        for it can ever be replayed into a later channel of the same pair and task.
///      The final transcript hash and task result hash are recorded in `ChannelSettled` (every close) and,
///      after a dispute, also in storage as the struct hash of the settled state (`isSettledState`).
contract StateChannelManager is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice One co-signed channel state (spec 004 §2.6). `balanceA + balanceB` always equals the escrow.
    struct State {
        bytes32 channelId;
        bytes32 taskId;
        uint256 nonce; // strictly increasing with every update
        uint256 balanceA;
        uint256 balanceB;
        uint256 msgCount; // data transmissions recorded so far
        bytes32 transcriptHash; // T_j = keccak256(T_{j-1} || keccak256(c_j) || sender_j || receiver_j || j)
        bytes32 resultHash; // 0 until the final state; the task result hash in it
        bool isFinal;
    }

    enum Status {
        None,
        Opening, // one party opened and escrowed; waiting for the other to join
        Open, // both joined: off-chain updates run
        Closing, // a state was submitted unilaterally; challenge period running
        Closed, // settled and paid out (tombstone)
        Cancelled // the opener withdrew before the other joined (tombstone)
    }

    /// @notice An ECDSA signature in the EIP-2098 compact form: `r`, and `s` with the parity of `v` in its
    ///         top bit (two words of calldata instead of five for a `bytes` signature). High `s` is refused.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Everything the contract keeps about a channel.
    struct Channel {
        // slot 0
        uint96 depositA; // escrow of partyA (the lower address)
        uint96 depositB; // escrow of partyB
        uint40 deadline; // Opening/Open: when the opener may cancel (meaningless once open); Closing: end of challenge
        Status status;
        bool openedByB; // which party opened (the other must join)
        // slot 1
        bytes32 stateHash; // Closing: struct hash of the state under challenge; Closed after a dispute: the settled one
        // slot 2
        uint256 nonce; // nonce of the state under challenge (Closing) or of the settled state
    }

    bytes32 public constant STATE_TYPEHASH = keccak256(
        "State(bytes32 channelId,bytes32 taskId,uint256 nonce,uint256 balanceA,uint256 balanceB,uint256 msgCount,"
        "bytes32 transcriptHash,bytes32 resultHash,bool isFinal)"
    );
    /// @notice Longest challenge period or join window the constructor accepts (30 days).
    uint256 public constant MAX_PERIOD = 30 days;

    /// @notice The escrow token (MetaCoin, MTC).
    IERC20 public immutable token;
    /// @notice Who may open channels with whom (TaskManager); the zero address admits any two parties.
    ITaskRoster public immutable roster;
    /// @notice Seconds during which a unilaterally submitted state can be challenged.
    uint256 public immutable challengePeriod;
    /// @notice Seconds the opener waits for the other party before it may cancel and take its escrow back.
    uint256 public immutable joinWindow;

    mapping(bytes32 channelId => Channel) private _channels;

    error ZeroAddress();
    error PeriodTooLong(uint256 period, uint256 max);
    error InvalidCounterparty(address counterparty);
    error NotTaskMembers(bytes32 taskId, address partyA, address partyB);
    error DepositTooLarge(uint256 amount);
    error ChannelExists(bytes32 channelId, Status status);
    error WrongStatus(bytes32 channelId, Status status, Status expected);
    error NotJoiner(bytes32 channelId, address caller);
    error NotOpener(bytes32 channelId, address caller);
    error JoinWindowOpen(bytes32 channelId, uint256 until);
    error ChannelMismatch(bytes32 channelId, bytes32 expected);
    error BalanceMismatch(uint256 balanceA, uint256 balanceB, uint256 escrow);
    error InvalidSignature(address expected, address recovered);
    error NotFinal(bytes32 channelId, uint256 nonce);
    error StateIsFinal(bytes32 channelId, uint256 nonce);
    error StaleState(bytes32 channelId, uint256 nonce, uint256 storedNonce);
    error ChallengePeriodOver(bytes32 channelId, uint256 deadline);
    error ChallengePeriodRunning(bytes32 channelId, uint256 deadline);
    error UnknownState(bytes32 channelId, bytes32 stateHash);

    /// @notice `opener` opened the channel with `counterparty` and escrowed `deposit`; the counterparty may
    ///         join until `joinBy` (after which the opener may cancel). partyA is the lower of the two.
    event ChannelOpened(
        bytes32 indexed channelId,
        bytes32 indexed taskId,
        address indexed opener,
        address counterparty,
        uint256 deposit,
        uint256 joinBy
    );
    /// @notice The second party joined with `deposit`: the channel is open.
    event ChannelJoined(bytes32 indexed channelId, address indexed joiner, uint256 deposit);
    /// @notice The opener withdrew before anybody joined and got `refund` back.
    event ChannelCancelled(bytes32 indexed channelId, address indexed opener, uint256 refund);
    /// @notice A state was submitted unilaterally; it can be challenged until `deadline`.
    event ChannelClosing(
        bytes32 indexed channelId, address indexed closer, uint256 nonce, bytes32 stateHash, uint256 deadline
    );
    /// @notice A newer co-signed state replaced the one under challenge.
    event ChannelChallenged(bytes32 indexed channelId, address indexed challenger, uint256 nonce, bytes32 stateHash);
    /// @notice The channel is closed and paid out (the token's Transfer events show the split); the final
    ///         transcript and task result hashes are recorded. `cooperative`: settled by a co-signed final
    ///         state, without waiting for the challenge period.
    event ChannelSettled(
        bytes32 indexed channelId,
        bytes32 indexed taskId,
        uint256 nonce,
        uint256 msgCount,
        bytes32 transcriptHash,
        bytes32 resultHash,
        bool cooperative
    );

    /// @param token_ The escrow token (MetaCoin).
    /// @param roster_ TaskManager, or the zero address to admit any two parties.
    /// @param challengePeriod_ Challenge period in seconds (spec 004 leaves it open; at most MAX_PERIOD).
    /// @param joinWindow_ Seconds the second party has to join before the opener may cancel.
    constructor(IERC20 token_, ITaskRoster roster_, uint256 challengePeriod_, uint256 joinWindow_)
        EIP712("Web3PPDC-Channel", "1")
    {
        if (address(token_) == address(0)) revert ZeroAddress();
        if (challengePeriod_ > MAX_PERIOD) revert PeriodTooLong(challengePeriod_, MAX_PERIOD);
        if (joinWindow_ > MAX_PERIOD) revert PeriodTooLong(joinWindow_, MAX_PERIOD);
        token = token_;
        roster = roster_;
        challengePeriod = challengePeriod_;
        joinWindow = joinWindow_;
    }

    // ------------------------------------------------------------------ opening

    /// @notice Opens a channel with `counterparty` for `taskId` and escrows `deposit` MTC of the sender
    ///         (approve first; 0 makes the channel a pure transmission ledger). The counterparty must `join`.
    /// @param taskId The task both servers work on.
    /// @param counterparty The other server.
    /// @param deposit MTC (base units) to escrow, at most 2^96 - 1.
    /// @return channelId The channel's id (see `channelIdOf`).
    function open(bytes32 taskId, address counterparty, uint256 deposit)
        external
        nonReentrant
        returns (bytes32 channelId)
    {
        if (counterparty == address(0) || counterparty == msg.sender) revert InvalidCounterparty(counterparty);
        if (deposit > type(uint96).max) revert DepositTooLarge(deposit);
        (address a, address b) = _sorted(msg.sender, counterparty);
        if (address(roster) != address(0) && !roster.mayOpenChannel(taskId, a, b)) {
            revert NotTaskMembers(taskId, a, b);
        }
        channelId = _channelId(taskId, a, b);
        Channel storage channel = _channels[channelId];
        if (channel.status != Status.None) revert ChannelExists(channelId, channel.status);

        bool openerIsB = msg.sender == b;
        uint256 joinBy = block.timestamp + joinWindow;
        channel.status = Status.Opening;
        channel.openedByB = openerIsB;
        channel.deadline = uint40(joinBy);
        if (openerIsB) channel.depositB = uint96(deposit);
        else channel.depositA = uint96(deposit);
        emit ChannelOpened(channelId, taskId, msg.sender, counterparty, deposit, joinBy);

        if (deposit != 0) token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Joins the channel `counterparty` opened for `taskId`, escrowing `deposit` MTC: it is open.
    /// @param taskId The task.
    /// @param counterparty The opener.
    /// @param deposit MTC (base units) to escrow, at most 2^96 - 1.
    function join(bytes32 taskId, address counterparty, uint256 deposit) external nonReentrant {
        if (deposit > type(uint96).max) revert DepositTooLarge(deposit);
        (address a, address b) = _sorted(msg.sender, counterparty);
        bytes32 channelId = _channelId(taskId, a, b);
        Channel storage channel = _channels[channelId];
        if (channel.status != Status.Opening) revert WrongStatus(channelId, channel.status, Status.Opening);
        bool joinerIsB = msg.sender == b;
        if (joinerIsB == channel.openedByB) revert NotJoiner(channelId, msg.sender);

        channel.status = Status.Open;
        if (joinerIsB) channel.depositB = uint96(deposit);
        else channel.depositA = uint96(deposit);
        emit ChannelJoined(channelId, msg.sender, deposit);

        if (deposit != 0) token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice The opener takes its escrow back when nobody joined within the join window.
    /// @param taskId The task.
    /// @param counterparty The party that did not join.
    function cancelOpen(bytes32 taskId, address counterparty) external nonReentrant {
        (address a, address b) = _sorted(msg.sender, counterparty);
        bytes32 channelId = _channelId(taskId, a, b);
        Channel storage channel = _channels[channelId];
        if (channel.status != Status.Opening) revert WrongStatus(channelId, channel.status, Status.Opening);
        if ((msg.sender == b) != channel.openedByB) revert NotOpener(channelId, msg.sender);
        if (block.timestamp < channel.deadline) revert JoinWindowOpen(channelId, channel.deadline);

        uint256 refund = uint256(channel.depositA) + channel.depositB;
        channel.status = Status.Cancelled;
        channel.depositA = 0;
        channel.depositB = 0;
        channel.deadline = 0;
        emit ChannelCancelled(channelId, msg.sender, refund);

        if (refund != 0) token.safeTransfer(msg.sender, refund);
    }

    // ------------------------------------------------------------------ closing

    /// @notice Closes the channel at once with a final state (`isFinal`) signed by both parties, pays out
    ///         the balances and records the final transcript and task result hashes.
    /// @param state The final state.
    /// @param partyA The lower party address.
    /// @param partyB The higher party address.
    /// @param sigA partyA's EIP-712 signature of `state` (EIP-2098 compact form).
    /// @param sigB partyB's EIP-712 signature of `state`.
    function cooperativeClose(
        State calldata state,
        address partyA,
        address partyB,
        Signature calldata sigA,
        Signature calldata sigB
    ) external nonReentrant {
        Channel storage channel = _channel(state, partyA, partyB, Status.Open);
        if (!state.isFinal) revert NotFinal(state.channelId, state.nonce);
        _checkSignatures(state, partyA, partyB, sigA, sigB);
        _settle(channel, state, partyA, partyB, true, bytes32(0));
    }

    /// @notice Submits the newest co-signed state the sender holds and starts the challenge period
    ///         (unilateral close). A final state must go through `cooperativeClose` instead.
    /// @param state A non-final state signed by both parties.
    /// @param partyA The lower party address.
    /// @param partyB The higher party address.
    /// @param sigA partyA's signature.
    /// @param sigB partyB's signature.
    function close(
        State calldata state,
        address partyA,
        address partyB,
        Signature calldata sigA,
        Signature calldata sigB
    ) external nonReentrant {
        Channel storage channel = _channel(state, partyA, partyB, Status.Open);
        if (state.isFinal) revert StateIsFinal(state.channelId, state.nonce);
        bytes32 structHash = _checkSignatures(state, partyA, partyB, sigA, sigB);
        uint256 deadline = block.timestamp + challengePeriod;
        channel.status = Status.Closing;
        channel.deadline = uint40(deadline);
        channel.stateHash = structHash;
        channel.nonce = state.nonce;
        emit ChannelClosing(state.channelId, msg.sender, state.nonce, structHash, deadline);
    }

    /// @notice A party closes without any co-signed state (the other never signed one): the implicit
    ///         initial state (nonce 0, balances = deposits, empty transcript) goes under challenge.
    /// @param taskId The task.
    /// @param counterparty The other party.
    function closeInitial(bytes32 taskId, address counterparty) external nonReentrant {
        (address a, address b) = _sorted(msg.sender, counterparty);
        bytes32 channelId = _channelId(taskId, a, b);
        Channel storage channel = _channels[channelId];
        if (channel.status != Status.Open) revert WrongStatus(channelId, channel.status, Status.Open);
        bytes32 structHash = keccak256(
            abi.encode(
                STATE_TYPEHASH,
                channelId,
                taskId,
                uint256(0),
                uint256(channel.depositA),
                uint256(channel.depositB),
                uint256(0),
                bytes32(0),
                bytes32(0),
                false
            )
        );
        uint256 deadline = block.timestamp + challengePeriod;
        channel.status = Status.Closing;
        channel.deadline = uint40(deadline);
        channel.stateHash = structHash;
        // channel.nonce stays 0
        emit ChannelClosing(channelId, msg.sender, 0, structHash, deadline);
    }

    /// @notice Replaces the state under challenge with a co-signed state of strictly higher nonce, before the
    ///         deadline (the deadline is not extended). A final state settles the channel at once.
    /// @param state The newer state.
    /// @param partyA The lower party address.
    /// @param partyB The higher party address.
    /// @param sigA partyA's signature.
    /// @param sigB partyB's signature.
    function challenge(
        State calldata state,
        address partyA,
        address partyB,
        Signature calldata sigA,
        Signature calldata sigB
    ) external nonReentrant {
        Channel storage channel = _channel(state, partyA, partyB, Status.Closing);
        if (block.timestamp >= channel.deadline) revert ChallengePeriodOver(state.channelId, channel.deadline);
        if (state.nonce <= channel.nonce) revert StaleState(state.channelId, state.nonce, channel.nonce);
        bytes32 structHash = _checkSignatures(state, partyA, partyB, sigA, sigB);
        if (state.isFinal) {
            _settle(channel, state, partyA, partyB, true, structHash);
            return;
        }
        channel.stateHash = structHash;
        channel.nonce = state.nonce;
        emit ChannelChallenged(state.channelId, msg.sender, state.nonce, structHash);
    }

    /// @notice After the challenge period, pays out the state under challenge and records it. Anyone may call.
    /// @param state The stored state (its struct hash must match the stored one).
    /// @param partyA The lower party address.
    /// @param partyB The higher party address.
    function settle(State calldata state, address partyA, address partyB) external nonReentrant {
        Channel storage channel = _channel(state, partyA, partyB, Status.Closing);
        if (block.timestamp < channel.deadline) revert ChallengePeriodRunning(state.channelId, channel.deadline);
        bytes32 structHash = _structHash(state);
        if (structHash != channel.stateHash) revert UnknownState(state.channelId, structHash);
        _settle(channel, state, partyA, partyB, false, structHash);
    }

    // ------------------------------------------------------------------ views

    /// @notice The id of the channel between `x` and `y` (either order) for `taskId`.
    /// @param taskId The task.
    /// @param x One party.
    /// @param y The other party.
    /// @return The channel id.
    function channelIdOf(bytes32 taskId, address x, address y) external view returns (bytes32) {
        (address a, address b) = _sorted(x, y);
        return _channelId(taskId, a, b);
    }

    /// @notice The stored record of a channel (all zeros when unknown).
    /// @param channelId The channel.
    /// @return The record.
    function getChannel(bytes32 channelId) external view returns (Channel memory) {
        return _channels[channelId];
    }

    /// @notice The EIP-712 digest both parties sign for `state` (what `offchain.web3compute` computes).
    /// @param state The state.
    /// @return The digest keccak256(0x1901 || domainSeparator || structHash(state)).
    function stateDigest(State calldata state) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(state));
    }

    /// @notice Whether `state` is the state a channel settled with after a dispute (its struct hash is the
    ///         stored one): a proof of the final transcript and task result hashes against storage. A
    ///         cooperative close from `Open` records them in `ChannelSettled` only.
    /// @param state The claimed settled state.
    /// @return True when the channel closed through a dispute and `state` hashes to the recorded state.
    function isSettledState(State calldata state) external view returns (bool) {
        Channel storage channel = _channels[state.channelId];
        return channel.status == Status.Closed && channel.stateHash == _structHash(state);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Pays out `state`, records its transcript and result hashes in `ChannelSettled` and marks the
    ///      channel closed. `recordHash` keeps the struct hash of a state settled through a dispute (the
    ///      stored word is already non-zero there, so it costs no new slot); a cooperative close from `Open`
    ///      stores no hash (a fresh slot would cost 22,100 gas) and leaves the record to the event.
    function _settle(
        Channel storage channel,
        State calldata state,
        address partyA,
        address partyB,
        bool cooperative,
        bytes32 recordHash
    ) private {
        channel.status = Status.Closed; // the deposits stay readable as history; the status is the tombstone
        if (recordHash != bytes32(0) && channel.stateHash != recordHash) {
            channel.stateHash = recordHash;
            channel.nonce = state.nonce;
        }
        emit ChannelSettled(
            state.channelId, state.taskId, state.nonce, state.msgCount, state.transcriptHash, state.resultHash, cooperative
        );
        if (state.balanceA != 0) token.safeTransfer(partyA, state.balanceA);
        if (state.balanceB != 0) token.safeTransfer(partyB, state.balanceB);
    }

    /// @dev The channel `state` belongs to, checked: the id proves the parties and task, the status is
    ///      `expected`, and the balances conserve the escrow.
    function _channel(State calldata state, address partyA, address partyB, Status expected)
        private
        view
        returns (Channel storage channel)
    {
        bytes32 channelId = state.channelId;
        bytes32 expectedId = _channelId(state.taskId, partyA, partyB);
        if (channelId != expectedId || partyA >= partyB) revert ChannelMismatch(channelId, expectedId);
        channel = _channels[channelId];
        if (channel.status != expected) revert WrongStatus(channelId, channel.status, expected);
        uint256 escrow = uint256(channel.depositA) + channel.depositB;
        if (state.balanceA > escrow || state.balanceB != escrow - state.balanceA) {
            revert BalanceMismatch(state.balanceA, state.balanceB, escrow);
        }
    }

    function _checkSignatures(
        State calldata state,
        address partyA,
        address partyB,
        Signature calldata sigA,
        Signature calldata sigB
    ) private view returns (bytes32 structHash) {
        structHash = _structHash(state);
        bytes32 digest = _hashTypedDataV4(structHash);
        _checkSigner(digest, sigA, partyA);
        _checkSigner(digest, sigB, partyB);
    }

    function _checkSigner(bytes32 digest, Signature calldata signature, address expected) private pure {
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature.r, signature.vs);
        if (error != ECDSA.RecoverError.NoError || recovered != expected) {
            revert InvalidSignature(expected, recovered);
        }
    }

    function _structHash(State calldata state) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                STATE_TYPEHASH,
                state.channelId,
                state.taskId,
                state.nonce,
                state.balanceA,
                state.balanceB,
                state.msgCount,
                state.transcriptHash,
                state.resultHash,
                state.isFinal
            )
        );
    }

    function _channelId(bytes32 taskId, address a, address b) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), taskId, a, b));
    }

    function _sorted(address x, address y) private pure returns (address, address) {
        return x < y ? (x, y) : (y, x);
    }
}
