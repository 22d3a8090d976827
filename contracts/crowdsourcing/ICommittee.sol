// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICommittee: the blockchain committee as the MetaAICM Machine Learning Contract sees it
/// @notice Seed 001, §4.4.2.1 and §4.5.4: the committee's consensus nodes evaluate the crowdsourced models on
///         D_val and report the results. The reputation-elected `CommitteeManager` (Algorithm 4.3) implements
///         it; MLC depends only on this interface.
interface ICommittee {
    /// @notice Whether `account` currently sits on the committee.
    /// @param account The address.
    /// @return True for a member.
    function isMember(address account) external view returns (bool);

    /// @notice The current number of committee members.
    /// @return The count.
    function memberCount() external view returns (uint256);
}
