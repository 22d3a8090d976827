// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IEnvironmentVerifier} from "../outsourcing/IEnvironmentVerifier.sol";

/// @title MockEnvironmentVerifier: A TEST MOCK of the environment verifier (not for deployment)
/// @notice Stands in for MSC in the ASC tests: an environment is represented by ONE ECDSA key, and its
///         "aggregate signature" is a 65-byte ECDSA signature of that key over the raw message hash. It proves
///         nothing about enclaves; the real verifier is MSC (BLS12-381 aggregate over the environment's
///         registered keys).
contract MockEnvironmentVerifier is IEnvironmentVerifier {
    /// @notice The key that stands for each environment (zero: unknown environment).
    mapping(bytes32 envId => address signer) public signerOf;

    /// @notice Emitted when a test binds an environment to a key.
    event MockEnvironmentSet(bytes32 indexed envId, address signer);

    /// @notice Binds `envId` to `signer` (anyone may: this is a test mock).
    /// @param envId The environment.
    /// @param signer The ECDSA address that stands for it; zero dissolves it.
    function setEnvironment(bytes32 envId, address signer) external {
        signerOf[envId] = signer;
        emit MockEnvironmentSet(envId, signer);
    }

    /// @inheritdoc IEnvironmentVerifier
    function verifyEnvironmentSignature(bytes32 envId, bytes32 messageHash, bytes calldata aggregateSignature)
        external
        view
        returns (bool)
    {
        address signer = signerOf[envId];
        if (signer == address(0)) return false;
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(messageHash, aggregateSignature);
        return error == ECDSA.RecoverError.NoError && recovered == signer;
    }
}
