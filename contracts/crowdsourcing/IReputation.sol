// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IReputation: what the MetaAICM system contracts need from the Reputation Contract (RC)
/// @notice Seed 001 (MetaAICM), §4.5.3. Reputation is a signed fixed-point number with 18 decimals
///         (`1e18` = 1.0); it starts at 0 and may go negative.
interface IReputation {
    /// @notice The avatar's reputation r_i (fixed point, 1e18 = 1.0).
    /// @param avatar The avatar.
    /// @return The reputation.
    function reputationOf(address avatar) external view returns (int256);

    /// @notice One participation instance of `avatar` (P_i += 1); `counterparty` (or zero for none) joins
    ///         the set of unique avatars it interacted with (A_i), and the other way round.
    /// @param avatar The participant.
    /// @param counterparty The avatar it dealt with, or the zero address.
    function recordParticipation(address avatar, address counterparty) external;

    /// @notice Both avatars participate once (buyer and seller of one purchase) and have interacted.
    /// @param a One side.
    /// @param b The other side.
    function recordInteraction(address a, address b) external;

    /// @notice Reward event: r_i += A_i / P_i.
    /// @param avatar The rewarded avatar.
    /// @return delta The increment applied.
    function reward(address avatar) external returns (int256 delta);

    /// @notice Penalty event: r_i -= 1.
    /// @param avatar The penalised avatar.
    function penalize(address avatar) external;
}
