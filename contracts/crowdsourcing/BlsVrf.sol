// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BlsVrf: a BLS-signature VRF over BLS12-381 verified with the EIP-2537 precompiles
/// @notice The VRF of the MetaAICM committee election (seed 001, Algorithm 4.3). The prover's secret key is a
///         scalar sk, its public key pk = sk·G2 (an uncompressed G2 point, 256 bytes in EIP-2537 encoding); the
///         proof π for an input m is the BLS signature σ = sk·H(m) in G1 (128 bytes) and the output is
///         φ = keccak256(σ). H is RFC 9380 hash_to_curve (BLS12381G1_XMD:SHA-256_SSWU_RO_) with the domain
///         separation tag `DST`, the same function blst's `hash_to_g1` computes off chain. Verification checks
///         e(σ, −G2) · e(H(m), pk) = 1 with the pairing precompile, which also rejects points off the curve or
///         outside the prime-order subgroups; given a valid pk ≠ O, σ is unique, hence φ is unique.
/// @dev Precompiles: 0x02 SHA-256, 0x05 MODEXP (reduction mod p), 0x0b G1ADD, 0x0f PAIRING, 0x10 MAP_FP_TO_G1
///      (which also clears the cofactor, so H(m) = map(u0) + map(u1)).
library BlsVrf {
    /// @notice Domain separation tag of the election VRF's hash to G1.
    bytes internal constant DST = "METATRUST-COMMITTEE-VRF-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_";

    /// @notice Length of an uncompressed G1 point (EIP-2537).
    uint256 internal constant G1_LENGTH = 128;
    /// @notice Length of an uncompressed G2 point (EIP-2537).
    uint256 internal constant G2_LENGTH = 256;

    address private constant MODEXP = address(0x05);
    address private constant G1ADD = address(0x0b);
    address private constant PAIRING = address(0x0f);
    address private constant MAP_FP_TO_G1 = address(0x10);

    // The base-field modulus p, left-padded to 64 bytes.
    bytes32 private constant P_HI = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    bytes32 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // The generator of G1 (used to validate public keys) and the negated generator of G2.
    bytes private constant G1_GENERATOR =
        hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
        hex"0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1";
    bytes private constant NEG_G2_GENERATOR =
        hex"00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
        hex"0000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
        hex"000000000000000000000000000000000d1b3cc2c7027888be51d9ef691d77bcb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa"
        hex"0000000000000000000000000000000013fa4d4a0ad8b1ce186ed5061789213d993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed";

    /// @notice A precompile call failed where it cannot fail on valid input.
    error PrecompileFailed(address precompile);

    /// @notice Whether `proof` is the VRF proof of `message` under `publicKey`.
    /// @param publicKey The prover's G2 public key (256 bytes, not the point at infinity).
    /// @param message The VRF input.
    /// @param proof The G1 signature (128 bytes).
    /// @return True when e(proof, −G2) · e(H(message), publicKey) = 1 and both points are valid.
    function verify(bytes memory publicKey, bytes memory message, bytes memory proof) internal view returns (bool) {
        if (publicKey.length != G2_LENGTH || proof.length != G1_LENGTH) return false;
        if (_isZero(proof)) return false;
        bytes memory input = abi.encodePacked(proof, NEG_G2_GENERATOR, hashToG1(message), publicKey);
        (bool ok, bytes memory out) = _call(PAIRING, input, 32);
        return ok && uint256(bytes32(out)) == 1;
    }

    /// @notice Whether `publicKey` is a valid G2 point of the prime-order subgroup other than the identity.
    /// @param publicKey The candidate key (256 bytes).
    /// @return True for a usable key.
    function isValidPublicKey(bytes memory publicKey) internal view returns (bool) {
        if (publicKey.length != G2_LENGTH || _isZero(publicKey)) return false;
        (bool ok,) = _call(PAIRING, abi.encodePacked(G1_GENERATOR, publicKey), 32);
        return ok;
    }

    /// @notice RFC 9380 hash_to_curve to G1 (random-oracle variant) with `DST`.
    /// @param message The message.
    /// @return point H(message), 128 bytes.
    function hashToG1(bytes memory message) internal view returns (bytes memory point) {
        bytes memory uniform = expandMessageXmd(message);
        bytes32 w0;
        bytes32 w1;
        bytes32 w2;
        bytes32 w3;
        assembly ("memory-safe") {
            w0 := mload(add(uniform, 32))
            w1 := mload(add(uniform, 64))
            w2 := mload(add(uniform, 96))
            w3 := mload(add(uniform, 128))
        }
        bytes memory q0 = _mapToG1(_reduce(w0, w1));
        bytes memory q1 = _mapToG1(_reduce(w2, w3));
        bool ok;
        (ok, point) = _call(G1ADD, abi.encodePacked(q0, q1), G1_LENGTH);
        if (!ok) revert PrecompileFailed(G1ADD);
    }

    /// @notice RFC 9380 expand_message_xmd with SHA-256, 128 output bytes, tag `DST`.
    /// @param message The message.
    /// @return The 128 uniform bytes.
    function expandMessageXmd(bytes memory message) internal pure returns (bytes memory) {
        bytes memory dstPrime = abi.encodePacked(DST, uint8(DST.length));
        bytes32 b0 = sha256(abi.encodePacked(bytes32(0), bytes32(0), message, uint16(128), uint8(0), dstPrime));
        bytes32 b1 = sha256(abi.encodePacked(b0, uint8(1), dstPrime));
        bytes32 b2 = sha256(abi.encodePacked(b0 ^ b1, uint8(2), dstPrime));
        bytes32 b3 = sha256(abi.encodePacked(b0 ^ b2, uint8(3), dstPrime));
        bytes32 b4 = sha256(abi.encodePacked(b0 ^ b3, uint8(4), dstPrime));
        return abi.encodePacked(b1, b2, b3, b4);
    }

    function _reduce(bytes32 hi, bytes32 lo) private view returns (bytes memory fp) {
        bool ok;
        (ok, fp) = _call(MODEXP, abi.encodePacked(uint256(64), uint256(1), uint256(64), hi, lo, uint8(1), P_HI, P_LO), 64);
        if (!ok) revert PrecompileFailed(MODEXP);
    }

    function _mapToG1(bytes memory fp) private view returns (bytes memory point) {
        bool ok;
        (ok, point) = _call(MAP_FP_TO_G1, fp, G1_LENGTH);
        if (!ok) revert PrecompileFailed(MAP_FP_TO_G1);
    }

    function _call(address precompile, bytes memory input, uint256 outLength)
        private
        view
        returns (bool ok, bytes memory out)
    {
        out = new bytes(outLength);
        assembly ("memory-safe") {
            ok := staticcall(gas(), precompile, add(input, 32), mload(input), add(out, 32), outLength)
            if iszero(eq(returndatasize(), outLength)) { ok := 0 }
        }
    }

    function _isZero(bytes memory data) private pure returns (bool) {
        for (uint256 i; i < data.length; i += 32) {
            bytes32 word;
            assembly ("memory-safe") {
                word := mload(add(add(data, 32), i))
            }
            if (word != bytes32(0)) return false;
        }
        return true;
    }
}
