// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IReputation} from "./IReputation.sol";

/// @title RC: the Reputation Contract of MetaAICM (seed 001, §4.5.3)
/// @notice "The reputation management is autonomously handled by the smart contract RC", which "tracks and
///         updates each avatar's reputation score". Update rule of the thesis:
///         reward event  r_i <- r_i + A_i / P_i,   penalty event  r_i <- r_i - 1,
///         where A_i is the number of unique avatars user i interacted with (crowdsourcing and marketplace)
///         and P_i its number of participation instances (submissions, task creations, purchases, sales).
///         All avatars start at 0; each avatar is scored on its own (no aggregation across avatars).
/// @dev Fixed point with 18 decimals, stored as int128 beside P_i and A_i in one slot per avatar. Only holders
///      of WRITER_ROLE (MLC, DC, MPC, OracleManager, CommitteeManager, granted at deployment by the admin)
///      change anything: "no individual can unilaterally modify their reputation score". Interactions are
///      symmetric: when i meets j for the first time, A_i and A_j both grow. Callers record the
///      participation of an event before rewarding it, so P_i >= 1 at a reward (spec §2.5).
contract RC is AccessControl, IReputation {
    /// @notice May record participations and apply rewards and penalties (the system contracts).
    bytes32 public constant WRITER_ROLE = keccak256("WRITER_ROLE");
    /// @notice 1.0 in the fixed-point representation.
    int256 public constant ONE = 1e18;

    struct Profile {
        int128 reputation; // r_i, fixed point 1e18
        uint64 participations; // P_i
        uint64 interactions; // A_i (unique counterparties)
    }

    mapping(address avatar => Profile) private _profiles;
    /// @dev keccak256(lower address, higher address) => met; one slot per unordered pair.
    mapping(bytes32 pair => bool) private _met;

    error ZeroAddress();
    error SelfInteraction(address avatar);

    event ParticipationRecorded(address indexed avatar, uint64 participations);
    event InteractionRecorded(address indexed a, address indexed b);
    /// @dev One event for the three changes of `recordInteraction` (a sale: both participations and, on their
    ///      first meeting, the interaction), cheaper than two `ParticipationRecorded` and an `InteractionRecorded`.
    event ExchangeRecorded(
        address indexed a, address indexed b, uint64 participationsA, uint64 participationsB, bool firstMeeting
    );
    event ReputationRewarded(address indexed avatar, int256 delta, int256 reputation);
    event ReputationPenalized(address indexed avatar, int256 reputation);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE, who grants WRITER_ROLE to the system contracts.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ writes (system contracts only)

    /// @notice Records one participation instance of `avatar` (P_i += 1) and, when `counterparty` is not
    ///         zero, their interaction (A grows for both on their first meeting).
    /// @param avatar The participant.
    /// @param counterparty The avatar it dealt with (requester of a task, ...), or the zero address.
    function recordParticipation(address avatar, address counterparty) external onlyRole(WRITER_ROLE) {
        if (avatar == address(0)) revert ZeroAddress();
        Profile storage profile = _profiles[avatar];
        uint64 participations = profile.participations + 1;
        profile.participations = participations;
        emit ParticipationRecorded(avatar, participations);
        if (counterparty != address(0)) _meet(avatar, counterparty, profile);
    }

    /// @notice Both avatars take part once (P += 1 each) and meet (A grows for both the first time); one
    ///         `ExchangeRecorded` event reports all of it.
    /// @param a One side (a buyer).
    /// @param b The other side (a seller).
    function recordInteraction(address a, address b) external onlyRole(WRITER_ROLE) {
        if (a == address(0) || b == address(0)) revert ZeroAddress();
        if (a == b) revert SelfInteraction(a);
        bytes32 key = _pairKey(a, b);
        bool first = !_met[key];
        if (first) _met[key] = true;
        Profile storage profileA = _profiles[a];
        Profile storage profileB = _profiles[b];
        uint64 participationsA = profileA.participations + 1;
        uint64 participationsB = profileB.participations + 1;
        profileA.participations = participationsA;
        profileB.participations = participationsB;
        if (first) {
            profileA.interactions += 1;
            profileB.interactions += 1;
        }
        emit ExchangeRecorded(a, b, participationsA, participationsB, first);
    }

    /// @notice Reward event: r_i += A_i / P_i (fixed point, rounded down).
    /// @param avatar The rewarded avatar.
    /// @return delta The increment applied (0 while P_i = 0).
    function reward(address avatar) external onlyRole(WRITER_ROLE) returns (int256 delta) {
        Profile storage profile = _profiles[avatar];
        uint256 participations = profile.participations;
        if (participations == 0) participations = 1;
        delta = int256((uint256(profile.interactions) * uint256(ONE)) / participations);
        int256 updated = int256(profile.reputation) + delta;
        profile.reputation = SafeCast.toInt128(updated); // 1.7e20 units of headroom: unreachable in practice
        emit ReputationRewarded(avatar, delta, updated);
    }

    /// @notice Penalty event: r_i -= 1.
    /// @param avatar The penalised avatar.
    function penalize(address avatar) external onlyRole(WRITER_ROLE) {
        Profile storage profile = _profiles[avatar];
        int256 updated = int256(profile.reputation) - ONE;
        profile.reputation = SafeCast.toInt128(updated);
        emit ReputationPenalized(avatar, updated);
    }

    // ------------------------------------------------------------------ views

    /// @notice The reputation r_i of `avatar` (fixed point, 1e18 = 1.0; 0 for an unknown avatar).
    /// @param avatar The avatar.
    /// @return The reputation.
    function reputationOf(address avatar) external view returns (int256) {
        return _profiles[avatar].reputation;
    }

    /// @notice R_min gating: whether `avatar`'s reputation is at least `minimum`.
    /// @param avatar The avatar.
    /// @param minimum R_min in fixed point.
    /// @return True when r_i >= R_min.
    function meetsMinimum(address avatar, int256 minimum) external view returns (bool) {
        return _profiles[avatar].reputation >= minimum;
    }

    /// @notice Reputation, participations P_i and unique counterparties A_i of `avatar`.
    /// @param avatar The avatar.
    /// @return reputation r_i (fixed point).
    /// @return participations P_i.
    /// @return interactions A_i.
    function stats(address avatar)
        external
        view
        returns (int256 reputation, uint256 participations, uint256 interactions)
    {
        Profile storage profile = _profiles[avatar];
        return (profile.reputation, profile.participations, profile.interactions);
    }

    /// @notice Whether two avatars have interacted (order does not matter).
    /// @param a One avatar.
    /// @param b The other.
    /// @return True after their first recorded interaction.
    function haveMet(address a, address b) external view returns (bool) {
        return _met[_pairKey(a, b)];
    }

    // ------------------------------------------------------------------ internals

    function _meet(address a, address b, Profile storage profileA) private {
        if (a == b) revert SelfInteraction(a);
        bytes32 key = _pairKey(a, b);
        if (_met[key]) return;
        _met[key] = true;
        profileA.interactions += 1;
        _profiles[b].interactions += 1;
        emit InteractionRecorded(a, b);
    }

    function _pairKey(address a, address b) private pure returns (bytes32 key) {
        (address low, address high) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, low)
            mstore(0x20, high)
            key := keccak256(0x00, 0x40)
        }
    }
}
