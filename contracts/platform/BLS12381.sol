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

    /// @dev The field prime p left-padded to 64 bytes (the MODEXP modulus), as two words.
    uint256 private constant P_HIGH = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LOW = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // ------------------------------------------------------------------------------ hash to curve

    /// @notice RFC 9380 expand_message_xmd with SHA-256, fixed to the 128 bytes that hash_to_field needs
    ///         for two elements of Fp (L = 64 each).
    /// @param message The message.
    /// @param dst The domain-separation tag (1..255 bytes).
    /// @return uniform 128 pseudo-random bytes.
    function expandMessageXmd(bytes memory message, bytes memory dst) internal view returns (bytes memory uniform) {
        uniform = new bytes(128);
        uint256 out;
        uint256 scratch;
        assembly ("memory-safe") {
            out := add(uniform, 32)
            scratch := mload(0x40)
        }
        if (!_expandMessageXmdAt(message, dst, scratch, out)) revert BlsPrecompileFailed(address(0x02));
    }

    /// @notice RFC 9380 hash_to_curve to G1 (random-oracle variant) with the given DST.
    /// @param message The message.
    /// @param dst The domain-separation tag.
    /// @return point The EIP-2537 encoding (128 bytes) of H(message).
    function hashToG1(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        point = new bytes(G1_LENGTH);
        uint256 out;
        uint256 scratch;
        assembly ("memory-safe") {
            out := add(point, 32)
            scratch := mload(0x40)
        }
        if (!_hashToG1At(message, dst, scratch, out)) revert BlsPrecompileFailed(MAP_FP_TO_G1);
    }

    /// @dev expand_message_xmd (128 bytes) written to memory at `out`, the one implementation behind
    ///      `expandMessageXmd`, `hashToG1` and `verifyCalldata`. In assembly: the message is laid out once at
    ///      `scratch` and the five SHA-256 precompile calls hash from there (the Solidity version spent ~5k gas
    ///      on packing copies). `scratch` is unallocated memory past the free-memory pointer, of
    ///      68 + message.length + dst.length bytes, not overlapping `out`'s 128 bytes.
    /// @return ok Whether every SHA-256 precompile call succeeded.
    function _expandMessageXmdAt(bytes memory message, bytes memory dst, uint256 scratch, uint256 out)
        private
        view
        returns (bool ok)
    {
        uint256 dstLength = dst.length;
        if (dstLength == 0 || dstLength > 255) revert BlsInvalidDst();
        assembly ("memory-safe") {
            let buf := scratch
            let messageLength := mload(message)
            // b0 = H(Z_pad(64) || message || I2OSP(128, 2) || I2OSP(0, 1) || DST || I2OSP(len(DST), 1))
            mstore(buf, 0)
            mstore(add(buf, 32), 0)
            mcopy(add(buf, 64), add(message, 32), messageLength)
            let tail := add(add(buf, 64), messageLength)
            mstore8(tail, 0x00)
            mstore8(add(tail, 1), 0x80)
            mstore8(add(tail, 2), 0x00)
            mcopy(add(tail, 3), add(dst, 32), dstLength)
            mstore8(add(add(tail, 3), dstLength), dstLength)
            ok := staticcall(gas(), 0x02, buf, sub(add(add(tail, 4), dstLength), buf), 0x00, 32)
            let b0 := mload(0x00)
            // b_i = H((b0 XOR b_{i-1}) || I2OSP(i, 1) || DST'), b_0' = 0 so that b_1 = H(b0 || 1 || DST')
            mcopy(add(buf, 33), add(dst, 32), dstLength)
            mstore8(add(add(buf, 33), dstLength), dstLength)
            let inputLength := add(34, dstLength)
            let previous := 0
            for { let i := 1 } lt(i, 5) { i := add(i, 1) } {
                mstore(buf, xor(b0, previous))
                mstore8(add(buf, 32), i)
                ok := and(ok, staticcall(gas(), 0x02, buf, inputLength, out, 32))
                previous := mload(out)
                out := add(out, 32)
            }
        }
    }

    /// @dev hash_to_curve to G1 (128 bytes) written to memory at `out`, the one implementation behind
    ///      `hashToG1` and `verifyCalldata`: u_k = OS2IP(uniform[64k .. 64k+64]) mod p through MODEXP
    ///      (exponent 1, modulus p left-padded to 64 bytes, so the output is an EIP-2537 field element),
    ///      Q_k = MAP_FP_TO_G1(u_k) (the precompile clears the cofactor, which commutes with the addition),
    ///      H = Q_0 + Q_1 by G1ADD. `scratch` is unallocated memory past the free-memory pointer, of
    ///      128 + max(576, 68 + message.length + dst.length) bytes (the uniform bytes, then the
    ///      expand_message_xmd input, reused for the MODEXP input, u and Q_0 || Q_1), not overlapping `out`.
    /// @return ok Whether every precompile call succeeded.
    function _hashToG1At(bytes memory message, bytes memory dst, uint256 scratch, uint256 out)
        private
        view
        returns (bool ok)
    {
        uint256 buf;
        assembly ("memory-safe") {
            buf := add(scratch, 128)
        }
        ok = _expandMessageXmdAt(message, dst, buf, scratch);
        assembly ("memory-safe") {
            let uniform := scratch
            let u := add(buf, 256) // the 225-byte MODEXP input at buf, then u (64 bytes), then Q_0 || Q_1
            let qs := add(buf, 320)
            for { let k := 0 } lt(k, 2) { k := add(k, 1) } {
                mstore(buf, 64)
                mstore(add(buf, 32), 1)
                mstore(add(buf, 64), 64)
                mcopy(add(buf, 96), add(uniform, mul(k, 64)), 64)
                mstore8(add(buf, 160), 1)
                mstore(add(buf, 161), P_HIGH)
                mstore(add(buf, 193), P_LOW)
                ok := and(ok, staticcall(gas(), 0x05, buf, 225, u, 64))
                ok := and(ok, staticcall(gas(), 0x10, u, 64, add(qs, mul(k, 128)), 128))
            }
            ok := and(ok, staticcall(gas(), 0x0b, qs, 256, out, 128))
        }
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

    /// @notice `verify` for a key and a signature read straight from calldata, in one pass without
    ///         allocations: RFC 9380 hash to G1 (as `hashToG1`) writes H(m) straight into the 768-byte pairing
    ///         input σ ‖ −g2 ‖ H(m) ‖ key laid out past the free-memory pointer, then one pairing check. For the
    ///         hot paths that check one aggregate per transaction (MSC's confirmations and environment
    ///         signatures). The caller checks that the key is not the point at infinity (a key it matched by
    ///         hash against a registered aggregate never is).
    /// @param publicKey A G2 public key (or the sum of several), 256 bytes of calldata.
    /// @param message The signed message.
    /// @param dst The domain-separation tag (1..255 bytes).
    /// @param signature A G1 signature (or the sum of several), 128 bytes of calldata.
    /// @return valid False for a wrong signature and for any malformed or out-of-subgroup point.
    function verifyCalldata(
        bytes calldata publicKey,
        bytes memory message,
        bytes memory dst,
        bytes calldata signature
    ) internal view returns (bool valid) {
        bytes memory negG2 = NEG_G2;
        uint256 pin; // pairing input: σ (128) ‖ −g2 (256) ‖ H(m) (128) ‖ key (256), then the hashing's scratch
        uint256 scratch;
        uint256 hashed;
        assembly ("memory-safe") {
            pin := mload(0x40)
            scratch := add(pin, 768)
            hashed := add(pin, 384)
        }
        // hashed before the length checks so that a bad DST reverts whatever the key and signature
        bool ok = _hashToG1At(message, dst, scratch, hashed);
        if (!ok) revert BlsPrecompileFailed(MAP_FP_TO_G1);
        if (publicKey.length != G2_LENGTH || signature.length != G1_LENGTH) return false;
        assembly ("memory-safe") {
            calldatacopy(pin, signature.offset, 128)
            mcopy(add(pin, 128), add(negG2, 32), 256)
            calldatacopy(add(pin, 512), publicKey.offset, 256)
            let paired := staticcall(gas(), 0x0f, pin, 768, 0x00, 32) // Yul evaluates arguments right to left
            valid := and(paired, eq(mload(0x00), 1))
        }
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
