// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title EciesLite: the deterministic, EVM-checkable URL encryption of MetaAICM (seed 001, spec §4.3)
/// @notice The thesis asks MPC and DC to "re-encrypt" a revealed URL and compare it with the stored
///         ciphertext, which randomized public-key encryption cannot do. Ciphertext (E, c):
///         E = e·G, S = e·Q = d·E, k = keccak256("MetaAICM/v1" || addr(S) || context),
///         c = m XOR (keccak256(k || 0) || keccak256(k || 1) || ...).
///         Whoever reveals e (a data worker) or d (a buyer's per-purchase key) lets the contract recompute
///         addr(S) and hence c. The Python side is `offchain/crypto/ecies_lite.py`.
/// @dev addr(x·P) = ecrecover(0, 27 + P.y mod 2, P.x, x·P.x mod n): ecrecover returns r^{-1}(s·R - h·G),
///      which with h = 0 and s = x·r is x·R. Needs 0 < P.x < n and 0 < x < n (then s != 0 since n is prime).
library EciesLite {
    /// @dev secp256k1 group order n and field prime p.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev Generator G (its y is even).
    uint256 internal constant GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798;
    uint256 internal constant GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8;
    bytes11 internal constant DOMAIN = "MetaAICM/v1";

    /// @notice Whether (x, y) is an affine point of secp256k1 with coordinates in the field.
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P) return false;
        uint256 lhs = mulmod(y, y, P);
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        return lhs == rhs;
    }

    /// @notice Whether (x, y) can serve as a point the contracts multiply: on the curve and 0 < x < n.
    function isUsablePoint(uint256 x, uint256 y) internal pure returns (bool) {
        return x != 0 && x < N && isOnCurve(x, y);
    }

    /// @notice addr(P) = last 20 bytes of keccak256(P.x || P.y).
    function pointAddress(uint256 x, uint256 y) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
    }

    /// @notice addr(scalar · (x, y)) through ecrecover. Returns the zero address when the inputs are out of
    ///         range (scalar not in [1, n-1], x not in [1, n-1]) or (x, y) is not a curve point.
    function mulAddress(uint256 scalar, uint256 x, uint256 y) internal pure returns (address) {
        if (scalar == 0 || scalar >= N || x == 0 || x >= N) return address(0);
        return ecrecover(bytes32(0), uint8(27 + (y & 1)), bytes32(x), bytes32(mulmod(scalar, x, N)));
    }

    /// @notice addr(scalar · G): the address of the public key whose secret is `scalar`.
    function publicAddress(uint256 scalar) internal pure returns (address) {
        return mulAddress(scalar, GX, GY);
    }

    /// @notice The slot context keccak256(abi.encode(chainId, contract, slotId, index)).
    function context(address contractAddress, uint256 slotId, uint256 index) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, contractAddress, slotId, index));
    }

    /// @notice keccak256 of m XOR keystream(addr(S), context): the hash of the ciphertext body that encrypting
    ///         `message` under the shared point with address `shared` produces.
    function cipherHash(bytes calldata message, address shared, bytes32 ctx) internal pure returns (bytes32) {
        bytes32 key = keccak256(abi.encodePacked(DOMAIN, shared, ctx));
        bytes memory out = new bytes(message.length);
        uint256 blocks = (message.length + 31) / 32;
        for (uint256 i; i < blocks; ++i) {
            bytes32 pad = keccak256(abi.encodePacked(key, i));
            bytes32 chunk;
            uint256 offset = i * 32;
            assembly ("memory-safe") {
                chunk := calldataload(add(message.offset, offset))
            }
            // Bytes past the end of the message read as zero and are cut off below.
            bytes32 masked = chunk ^ pad;
            assembly ("memory-safe") {
                mstore(add(add(out, 32), offset), masked)
            }
        }
        // The last mstore may have written past out's length: the hash covers exactly message.length bytes.
        bytes32 digest;
        assembly ("memory-safe") {
            digest := keccak256(add(out, 32), mload(out))
        }
        return digest;
    }
}
