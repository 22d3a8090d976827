// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICommittee} from "./ICommittee.sol";

/// @title CommitteeSet: an admin-managed model-evaluation committee for MetaAICM (seed 001)
/// @notice Stands in for the committee until the reputation-based `CommitteeManager` lands: the admin (the
///         platform publisher, who appoints the trusted seed nodes of §4.5.4.3) adds and removes members.
/// @dev At most MAX_MEMBERS members, so consumers may size work by `memberCount()`.
contract CommitteeSet is AccessControl, ICommittee {
    /// @notice Largest committee this set holds.
    uint256 public constant MAX_MEMBERS = 32;

    address[] private _members;
    mapping(address account => uint256 indexPlusOne) private _index;

    error ZeroAddress();
    error AlreadyMember(address account);
    error NotMember(address account);
    error CommitteeFull();

    event MemberAdded(address indexed account);
    event MemberRemoved(address indexed account);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the platform publisher).
    /// @param initial The first members.
    constructor(address admin, address[] memory initial) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i; i < initial.length; ++i) {
            _add(initial[i]);
        }
    }

    /// @notice Adds a member.
    /// @param account The new member.
    function addMember(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _add(account);
    }

    /// @notice Removes a member (swap-and-pop: the order of `members()` may change).
    /// @param account The member to remove.
    function removeMember(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 position = _index[account];
        if (position == 0) revert NotMember(account);
        address last = _members[_members.length - 1];
        _members[position - 1] = last;
        _index[last] = position;
        _members.pop();
        delete _index[account];
        emit MemberRemoved(account);
    }

    /// @notice Whether `account` is a member.
    /// @param account The address.
    /// @return True for a member.
    function isMember(address account) external view returns (bool) {
        return _index[account] != 0;
    }

    /// @notice The number of members.
    /// @return The count (at most MAX_MEMBERS).
    function memberCount() external view returns (uint256) {
        return _members.length;
    }

    /// @notice Every member.
    /// @return The list (at most MAX_MEMBERS entries).
    function members() external view returns (address[] memory) {
        return _members;
    }

    function _add(address account) private {
        if (account == address(0)) revert ZeroAddress();
        if (_index[account] != 0) revert AlreadyMember(account);
        if (_members.length >= MAX_MEMBERS) revert CommitteeFull();
        _members.push(account);
        _index[account] = _members.length;
        emit MemberAdded(account);
    }
}
