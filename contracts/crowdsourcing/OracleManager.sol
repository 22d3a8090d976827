// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice A contract whose disputes the oracle network decides.
interface IDisputeTarget {
    /// @notice Called once per ticket with the majority decision.
    /// @param ticketId The ticket the target opened.
    /// @param qualified The majority's decision.
    function onDisputeResolved(uint256 ticketId, bool qualified) external;
}

/// @title OracleManager: the decentralized blockchain oracle network of MetaAICM (seed 001, §4.5.1.2, §4.5.3)
/// @notice "Multiple professional nodes independently assess whether the dataset meets the quality standard;
///         each node votes; the final decision is based on the compounded result of the majority votes";
///         oracle nodes "whose decision equals the majority are rewarded", the others "face deductions".
/// @dev The thesis gives no numbers (spec §7 A18): oracles stake `stake` MTC to register (at most MAX_ORACLES);
///      a ticket is open for `voteWindow` seconds; the decision is a strict majority of the votes cast (a tie
///      or no vote: not qualified); each majority voter receives `voteReward` from the reward pool (funded by
///      anyone through `fundRewards` and by deductions; paid while it lasts), each minority voter loses
///      `deduction` from its stake into the pool. Only contracts holding OPENER_ROLE (DC) open tickets, and
///      the decision is delivered to the opener by `onDisputeResolved`.
contract OracleManager is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice May open tickets (the data contract).
    bytes32 public constant OPENER_ROLE = keccak256("OPENER_ROLE");
    /// @notice Largest oracle set (bounds the loop at resolution).
    uint256 public constant MAX_ORACLES = 15;

    struct Oracle {
        uint128 stake; // what is left of the stake
        uint64 openVotes; // votes cast on unresolved tickets
        bool registered;
    }

    struct Ticket {
        address opener;
        uint64 openedAt;
        uint8 votesFor;
        uint8 votesAgainst;
        bool resolved;
        bool qualified;
    }

    /// @notice MetaCoin.
    IERC20 public immutable token;
    /// @notice Stake an oracle deposits to register.
    uint256 public immutable stake;
    /// @notice Reward per majority vote, paid from the pool.
    uint256 public immutable voteReward;
    /// @notice Deduction per minority vote, taken from the stake into the pool.
    uint256 public immutable deduction;
    /// @notice Seconds a ticket accepts votes.
    uint64 public immutable voteWindow;

    /// @notice Tokens available for rewards.
    uint256 public rewardPool;
    uint256 private _ticketCount;
    uint256 private _oracleCount;
    mapping(address oracle => Oracle) private _oracles;
    mapping(uint256 ticketId => Ticket) private _tickets;
    mapping(uint256 ticketId => address[]) private _voters;
    mapping(uint256 ticketId => mapping(address oracle => uint8)) private _ballot; // 0 none, 1 against, 2 for

    error ZeroAddress();
    error InvalidConfig();
    error AlreadyRegistered(address oracle);
    error NotRegistered(address oracle);
    error TooManyOracles();
    error OpenVotes(address oracle, uint256 count);
    error UnknownTicket(uint256 ticketId);
    error VotingClosed(uint256 ticketId);
    error VotingOpen(uint256 ticketId);
    error AlreadyVoted(address oracle);
    error AlreadyResolved(uint256 ticketId);
    error ZeroAmount();

    event OracleRegistered(address indexed oracle, uint256 stake);
    event OracleDeregistered(address indexed oracle, uint256 refund);
    event TicketOpened(uint256 indexed ticketId, address indexed opener);
    event Voted(uint256 indexed ticketId, address indexed oracle, bool qualified);
    event TicketResolved(uint256 indexed ticketId, bool qualified, uint256 votesFor, uint256 votesAgainst);
    event OracleRewarded(uint256 indexed ticketId, address indexed oracle, uint256 amount);
    event OracleDeducted(uint256 indexed ticketId, address indexed oracle, uint256 amount);
    event RewardsFunded(address indexed from, uint256 amount);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants OPENER_ROLE).
    /// @param token_ MetaCoin.
    /// @param stake_ Registration stake (> 0).
    /// @param voteReward_ Reward per majority vote.
    /// @param deduction_ Deduction per minority vote (at most the stake).
    /// @param voteWindow_ Seconds a ticket accepts votes (> 0).
    constructor(
        address admin,
        IERC20 token_,
        uint256 stake_,
        uint256 voteReward_,
        uint256 deduction_,
        uint64 voteWindow_
    ) {
        if (admin == address(0) || address(token_) == address(0)) revert ZeroAddress();
        if (stake_ == 0 || stake_ > type(uint128).max || deduction_ > stake_ || voteWindow_ == 0) {
            revert InvalidConfig();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        stake = stake_;
        voteReward = voteReward_;
        deduction = deduction_;
        voteWindow = voteWindow_;
    }

    // ------------------------------------------------------------------ oracles

    /// @notice Registers the sender as an oracle node, staking `stake` MTC (approve first).
    function register() external nonReentrant {
        Oracle storage oracle = _oracles[msg.sender];
        if (oracle.registered) revert AlreadyRegistered(msg.sender);
        if (_oracleCount >= MAX_ORACLES) revert TooManyOracles();
        _oracleCount += 1;
        oracle.registered = true;
        oracle.stake += uint128(stake);
        emit OracleRegistered(msg.sender, stake);
        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice Leaves the oracle set and takes back what is left of the stake (no unresolved votes allowed).
    function deregister() external nonReentrant {
        Oracle storage oracle = _oracles[msg.sender];
        if (!oracle.registered) revert NotRegistered(msg.sender);
        if (oracle.openVotes != 0) revert OpenVotes(msg.sender, oracle.openVotes);
        uint256 refund = oracle.stake;
        oracle.registered = false;
        oracle.stake = 0;
        _oracleCount -= 1;
        emit OracleDeregistered(msg.sender, refund);
        if (refund != 0) token.safeTransfer(msg.sender, refund);
    }

    /// @notice Votes on an open ticket: is the disputed dataset qualified?
    /// @param ticketId The ticket.
    /// @param qualified The oracle's independent judgement.
    function vote(uint256 ticketId, bool qualified) external {
        Ticket storage ticket = _existingTicket(ticketId);
        Oracle storage oracle = _oracles[msg.sender];
        if (!oracle.registered) revert NotRegistered(msg.sender);
        if (ticket.resolved || block.timestamp > uint256(ticket.openedAt) + voteWindow) {
            revert VotingClosed(ticketId);
        }
        if (_ballot[ticketId][msg.sender] != 0) revert AlreadyVoted(msg.sender);
        _ballot[ticketId][msg.sender] = qualified ? 2 : 1;
        _voters[ticketId].push(msg.sender);
        oracle.openVotes += 1;
        if (qualified) ticket.votesFor += 1;
        else ticket.votesAgainst += 1;
        emit Voted(ticketId, msg.sender, qualified);
    }

    // ------------------------------------------------------------------ openers and anyone

    /// @notice Opens a ticket (OPENER_ROLE only); the decision comes back through `onDisputeResolved`.
    /// @return ticketId The new ticket (from 1).
    function open() external onlyRole(OPENER_ROLE) returns (uint256 ticketId) {
        ticketId = ++_ticketCount;
        _tickets[ticketId] = Ticket(msg.sender, uint64(block.timestamp), 0, 0, false, false);
        emit TicketOpened(ticketId, msg.sender);
    }

    /// @notice Resolves a ticket after its vote window, or earlier once every registered oracle voted
    ///         (anyone may call): majority decides, voters are rewarded or deducted, the opener is told.
    /// @param ticketId The ticket.
    function resolve(uint256 ticketId) external nonReentrant {
        Ticket storage ticket = _existingTicket(ticketId);
        if (ticket.resolved) revert AlreadyResolved(ticketId);
        address[] storage voters = _voters[ticketId];
        bool everyone = voters.length != 0 && voters.length >= _oracleCount;
        if (!everyone && block.timestamp <= uint256(ticket.openedAt) + voteWindow) revert VotingOpen(ticketId);
        bool qualified = ticket.votesFor > ticket.votesAgainst;
        ticket.resolved = true;
        ticket.qualified = qualified;
        emit TicketResolved(ticketId, qualified, ticket.votesFor, ticket.votesAgainst);
        bool tie = ticket.votesFor == ticket.votesAgainst;
        uint8 majorityBallot = qualified ? 2 : 1;
        for (uint256 i; i < voters.length; ++i) {
            address voter = voters[i];
            Oracle storage oracle = _oracles[voter];
            oracle.openVotes -= 1;
            if (tie) continue; // no majority: nobody rewarded or deducted
            if (_ballot[ticketId][voter] == majorityBallot) {
                uint256 amount = voteReward < rewardPool ? voteReward : rewardPool;
                if (amount != 0) {
                    rewardPool -= amount;
                    emit OracleRewarded(ticketId, voter, amount);
                    token.safeTransfer(voter, amount);
                }
            } else {
                uint256 amount = deduction < oracle.stake ? deduction : oracle.stake;
                oracle.stake -= uint128(amount);
                rewardPool += amount;
                emit OracleDeducted(ticketId, voter, amount);
            }
        }
        IDisputeTarget(ticket.opener).onDisputeResolved(ticketId, qualified);
    }

    /// @notice Adds tokens to the reward pool (approve first).
    /// @param amount Amount in base units.
    function fundRewards(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        rewardPool += amount;
        emit RewardsFunded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice An oracle's record.
    /// @param account The oracle.
    /// @return The record.
    function getOracle(address account) external view returns (Oracle memory) {
        return _oracles[account];
    }

    /// @notice A ticket's record.
    /// @param ticketId The ticket.
    /// @return The record.
    function getTicket(uint256 ticketId) external view returns (Ticket memory) {
        return _tickets[ticketId];
    }

    /// @notice Number of registered oracles.
    /// @return The count.
    function oracleCount() external view returns (uint256) {
        return _oracleCount;
    }

    /// @notice Number of tickets opened so far.
    /// @return The count.
    function ticketCount() external view returns (uint256) {
        return _ticketCount;
    }

    function _existingTicket(uint256 ticketId) private view returns (Ticket storage ticket) {
        ticket = _tickets[ticketId];
        if (ticket.opener == address(0)) revert UnknownTicket(ticketId);
    }
}
