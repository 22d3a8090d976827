// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CrowdTaskChecks: the task-parameter checks MLC and DC share (MetaAICM, seed 001)
/// @notice Bounds on submissions, URIs and R_min, with their named errors, in one place for both
///         crowdsourcing contracts.
abstract contract CrowdTaskChecks {
    /// @notice Most submissions a task accepts (bounds every loop over a task's submissions).
    uint256 public constant MAX_SUBMISSIONS = 32;
    /// @notice Longest URI, URL or encrypted URL accepted, in bytes.
    uint256 public constant MAX_URI_LENGTH = 256;

    error InvalidDeadline(uint64 deadline);
    error InvalidWindow();
    error InvalidMaxSubmissions(uint8 maxSubmissions);
    error InvalidUri(uint256 length);
    error InvalidMinReputation(int256 minReputation);

    /// @dev 1 ≤ maxSubmissions ≤ MAX_SUBMISSIONS.
    function _checkMaxSubmissions(uint8 maxSubmissions) internal pure {
        if (maxSubmissions == 0 || maxSubmissions > MAX_SUBMISSIONS) revert InvalidMaxSubmissions(maxSubmissions);
    }

    /// @dev R_min must fit the int128 the task stores.
    function _checkMinReputation(int256 minReputation) internal pure {
        if (minReputation > type(int128).max || minReputation < type(int128).min) {
            revert InvalidMinReputation(minReputation);
        }
    }

    /// @dev 1 ≤ length ≤ MAX_URI_LENGTH.
    function _checkUri(bytes calldata uri) internal pure {
        if (uri.length == 0 || uri.length > MAX_URI_LENGTH) revert InvalidUri(uri.length);
    }
}
