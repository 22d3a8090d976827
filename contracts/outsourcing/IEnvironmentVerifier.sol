// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEnvironmentVerifier: "is this the aggregate signature of execution environment `envId`?"
/// @notice The one question the anchoring contract (ASC) asks the management contract (MSC) of Meta-BMEOC
///         (seed 000, §IV.B): a settlement, a schedule anchor or a reward voucher is accepted only when the
///         enclaves of the execution environment signed it together. MSC implements it with BLS12-381
///         same-message aggregation (the spec's corrected Eq. 13); `contracts/mocks/MockEnvironmentVerifier`
///         is a test stand-in.
interface IEnvironmentVerifier {
    /// @notice Whether `aggregateSignature` is a valid aggregate signature of the members of environment
    ///         `envId` over `messageHash`. MUST return false (not revert) for an unknown, dissolved or
    ///         incomplete environment and for a malformed signature.
    /// @param envId The execution environment.
    /// @param messageHash The 32-byte digest the enclaves signed.
    /// @param aggregateSignature The encoded aggregate signature. For MSC: the environment's current aggregate
    ///        BLS key (256 bytes, EIP-2537 G2) followed by σ (128 bytes, EIP-2537 G1), every member having signed
    ///        `MSC.environmentMessage(uint256(envId), messageHash)`; ASC's `envId` is `bytes32(uint256(mscEnvId))`.
    /// @return valid True only for a valid signature of that environment.
    function verifyEnvironmentSignature(bytes32 envId, bytes32 messageHash, bytes calldata aggregateSignature)
        external
        view
        returns (bool valid);
}
