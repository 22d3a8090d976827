// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS12381} from "../platform/BLS12381.sol";

/// @title BLS12381Mock: exposes the BLS12381 library to the cross-tests against offchain/crypto/bls.py
/// @dev `verify` and `verifyPop` are transactions (they emit `Checked`) so that the gas report records what a
///      real transaction pays: `eth_estimateGas` of a view that returns false when a precompile runs out of
///      gas would find the gas at which the pairing *fails* cheaply, not the gas a valid check needs.
///      Tests read their results with `.call()`.
contract BLS12381Mock {
    event Checked(bool valid);

    /// @notice RFC 9380 expand_message_xmd (SHA-256, 128 bytes).
    function expandMessageXmd(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS12381.expandMessageXmd(message, dst);
    }

    /// @notice RFC 9380 hash_to_curve to G1.
    function hashToG1(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS12381.hashToG1(message, dst);
    }

    /// @notice Sum of G2 points (aggregate public key).
    function aggregateKeys(bytes[] calldata keys) external view returns (bytes memory sum) {
        sum = keys[0];
        for (uint256 i = 1; i < keys.length; ++i) {
            sum = BLS12381.g2Add(sum, keys[i]);
        }
    }

    /// @notice Sum of G1 points (aggregate signature).
    function aggregateSignatures(bytes[] calldata signatures) external view returns (bytes memory sum) {
        sum = signatures[0];
        for (uint256 i = 1; i < signatures.length; ++i) {
            sum = BLS12381.g1Add(sum, signatures[i]);
        }
    }

    /// @notice Signature (or same-message aggregate) verification under DST_SIG.
    function verify(bytes calldata publicKey, bytes calldata message, bytes calldata signature)
        external
        returns (bool valid)
    {
        valid = BLS12381.verify(publicKey, message, BLS12381.DST_SIG, signature);
        emit Checked(valid);
    }

    /// @notice Proof-of-possession verification.
    function verifyPop(bytes calldata publicKey, bytes calldata proof) external returns (bool valid) {
        valid = BLS12381.verifyPop(publicKey, proof);
        emit Checked(valid);
    }
}
