// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BLS12381: BLS signatures over BLS12-381 with the EIP-2537 precompiles (min-sig setting)
/// @notice Signatures live in G1 (128 bytes in the EIP-2537 encoding), public keys in G2 (256 bytes). This
///         is the "minimal-signature-size" variant of the IETF BLS draft: a signature costs one
///         MAP_FP_TO_G1 pair (2 x 5,500 gas) to hash to instead of two MAP_FP2_TO_G2 (2 x 23,800), which is
///         what keeps an aggregate confirmation of the Meta-BMEOC environment near 150k gas. Hash-to-curve
///         is RFC 9380 `BLS12381G1_XMD:SHA-256_SSWU_RO_` (expand_message_xmd over the SHA-256 precompile,
///         reduction modulo p through the MODEXP precompile, the map precompile, one G1 addition).
///         Rogue-key attacks on same-message aggregation are prevented by a proof of possession (PoP):
///         the holder of a key signs the key's own 256-byte encoding under a separate DST.
/// @dev The pairing precompile checks that every input point is on its curve and in the prime-order
///      subgroup, so `verify*` return false (never revert) for malformed or out-of-subgroup points. The
///      off-chain twin is `offchain/crypto/bls.py` (pyblst); the two are cross-tested.
library BLS12381 {
    /// @notice A precompile call that must succeed failed (malformed point or input).
    error BlsPrecompileFailed(address precompile);
    /// @notice A point has the wrong encoded length.
    error BlsInvalidLength(uint256 length);
    /// @notice A domain-separation tag is empty or longer than 255 bytes.
    error BlsInvalidDst();

    uint256 internal constant G1_LENGTH = 128;
    uint256 internal constant G2_LENGTH = 256;

    /// @notice DST of message signatures (IETF BLS draft, proof-of-possession scheme, min-sig).
    bytes internal constant DST_SIG = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice DST of proofs of possession.
    bytes internal constant DST_POP = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

    address private constant MODEXP = address(0x05);
    address private constant G1ADD = address(0x0b);
    address private constant G2ADD = address(0x0d);
    address private constant PAIRING = address(0x0f);
    address private constant MAP_FP_TO_G1 = address(0x10);

    /// @dev The negated G2 generator (x, -y) in the EIP-2537 encoding.
    bytes private constant NEG_G2 =
        hex"00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
        hex"0000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
        hex"000000000000000000000000000000000d1b3cc2c7027888be51d9ef691d77bcb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa"
        hex"0000000000000000000000000000000013fa4d4a0ad8b1ce186ed5061789213d993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed";

    /// @dev The field prime p, left-padded to 64 bytes: the modulus of the MODEXP reduction, so that the
    ///      precompile's output is already an EIP-2537 field element.
    bytes private constant P_PADDED =
        hex"000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

    // ------------------------------------------------------------------------------ hash to curve

    /// @notice RFC 9380 expand_message_xmd with SHA-256, fixed to the 128 bytes that hash_to_field needs
    ///         for two elements of Fp (L = 64 each).
    /// @param message The message.
    /// @param dst The domain-separation tag (1..255 bytes).
    /// @return uniform 128 pseudo-random bytes.
    function expandMessageXmd(bytes memory message, bytes memory dst) internal view returns (bytes memory uniform) {
        if (dst.length == 0 || dst.length > 255) revert BlsInvalidDst();
        bytes memory dstPrime = abi.encodePacked(dst, uint8(dst.length));
        bytes32 b0 = sha256(abi.encodePacked(bytes32(0), bytes32(0), message, uint16(128), uint8(0), dstPrime));
        bytes32 b1 = sha256(abi.encodePacked(b0, uint8(1), dstPrime));
        bytes32 b2 = sha256(abi.encodePacked(b0 ^ b1, uint8(2), dstPrime));
        bytes32 b3 = sha256(abi.encodePacked(b0 ^ b2, uint8(3), dstPrime));
        bytes32 b4 = sha256(abi.encodePacked(b0 ^ b3, uint8(4), dstPrime));
        uniform = abi.encodePacked(b1, b2, b3, b4);
    }

    /// @notice RFC 9380 hash_to_curve to G1 (random-oracle variant) with the given DST.
    /// @param message The message.
    /// @param dst The domain-separation tag.
    /// @return point The EIP-2537 encoding (128 bytes) of H(message).
    function hashToG1(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        bytes memory uniform = expandMessageXmd(message, dst);
        bytes memory q0 = _mapToG1(_reduce(uniform, 0));
        bytes memory q1 = _mapToG1(_reduce(uniform, 64));
        point = g1Add(q0, q1);
    }

    /// @dev One 64-byte chunk of `uniform` reduced modulo p, as a 64-byte EIP-2537 field element.
    function _reduce(bytes memory uniform, uint256 offset) private view returns (bytes memory fp) {
        bytes32 hi;
        bytes32 lo;
        assembly ("memory-safe") {
            hi := mload(add(add(uniform, 32), offset))
            lo := mload(add(add(uniform, 64), offset))
        }
        bytes memory input = abi.encodePacked(uint256(64), uint256(1), uint256(64), hi, lo, uint8(1), P_PADDED);
        bool ok;
        (ok, fp) = MODEXP.staticcall(input);
        if (!ok || fp.length != 64) revert BlsPrecompileFailed(MODEXP);
    }

    function _mapToG1(bytes memory fp) private view returns (bytes memory point) {
        bool ok;
        (ok, point) = MAP_FP_TO_G1.staticcall(fp);
        if (!ok || point.length != G1_LENGTH) revert BlsPrecompileFailed(MAP_FP_TO_G1);
    }

    // ------------------------------------------------------------------------------ group operations

    /// @notice a + b in G1 (reverts on malformed or off-curve points).
    function g1Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        if (a.length != G1_LENGTH) revert BlsInvalidLength(a.length);
        if (b.length != G1_LENGTH) revert BlsInvalidLength(b.length);
        bool ok;
        (ok, sum) = G1ADD.staticcall(bytes.concat(a, b));
        if (!ok || sum.length != G1_LENGTH) revert BlsPrecompileFailed(G1ADD);
    }

    /// @notice a + b in G2 (reverts on malformed or off-curve points).
    function g2Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        if (a.length != G2_LENGTH) revert BlsInvalidLength(a.length);
        if (b.length != G2_LENGTH) revert BlsInvalidLength(b.length);
        bool ok;
        (ok, sum) = G2ADD.staticcall(bytes.concat(a, b));
        if (!ok || sum.length != G2_LENGTH) revert BlsPrecompileFailed(G2ADD);
    }

    /// @notice True when `point` is the all-zero EIP-2537 encoding of the point at infinity.
    function isInfinity(bytes memory point) internal pure returns (bool) {
        for (uint256 i = 0; i < point.length; i += 32) {
            bytes32 word;
            assembly ("memory-safe") {
                word := mload(add(add(point, 32), i))
            }
            if (word != bytes32(0)) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------------------ verification

    /// @notice e(sig, g2) == e(hashed, publicKey): one pairing check with two pairs.
    /// @param publicKey A G2 public key (or the sum of several), 256 bytes.
    /// @param hashed The message already hashed to G1, 128 bytes.
    /// @param signature A G1 signature (or the sum of several), 128 bytes.
    /// @return valid False for a wrong signature and for any malformed or out-of-subgroup point.
    function verifyHashed(bytes memory publicKey, bytes memory hashed, bytes memory signature)
        internal
        view
        returns (bool valid)
    {
        if (publicKey.length != G2_LENGTH || hashed.length != G1_LENGTH || signature.length != G1_LENGTH) {
            return false;
        }
        (bool ok, bytes memory out) = PAIRING.staticcall(bytes.concat(signature, NEG_G2, hashed, publicKey));
        valid = ok && out.length == 32 && uint256(bytes32(out)) == 1;
    }

    /// @notice Verifies a signature (or a same-message aggregate under the sum of the signers' keys) on
    ///         `message` under the DST `dst`.
    function verify(bytes memory publicKey, bytes memory message, bytes memory dst, bytes memory signature)
        internal
        view
        returns (bool)
    {
        if (publicKey.length != G2_LENGTH || isInfinity(publicKey)) return false;
        return verifyHashed(publicKey, hashToG1(message, dst), signature);
    }

    /// @notice Verifies a proof of possession: a signature on the key's own 256-byte encoding under DST_POP.
    /// @dev Also rejects the point at infinity and (through the pairing precompile) any key outside G2's
    ///      prime-order subgroup.
    function verifyPop(bytes memory publicKey, bytes memory proof) internal view returns (bool) {
        return verify(publicKey, publicKey, DST_POP, proof);
    }
}
