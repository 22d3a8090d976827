// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BigModArith} from "../platform/BigModArith.sol";

/// @title MExpmVerifier: Algorithm 2 of MExpm (seed 003), stateless, in two variants
/// @notice MExpm lets a vehicle offload ∏ u_i^{a_i} mod N to an MEC server; the server returns
///         σE = {Q0, γ_1..γ_n} and πE = {Q1, γ'_1..γ'_n}, and the verifier checks Eq. (5):
///             rv3 · Q0^{δ1} · ∏ γ_i  ≡  v4 · Q1^{δ2} · ∏ γ'_i   (mod L)
///         returning the encoded result σ = rv3 · Q0^{δ1} · ∏ γ_i mod L when it holds (spec 003 §3.4).
///         - `verify` (variant A, faithful): L of any width up to 4096 bits as big-endian bytes (1024 bits in
///           the paper), modexp through the EIP-198 precompile, products reduced mod L.
///         - `verifyPaperScale` (variant B): every value fits a uint256, native `mulmod` plus the precompile:
///           the scale at which the paper's Remix figures (16,509 gas at n = 1) can only have been measured
///           (spec 003 §4.4).
///         Verification alone is not sound as published (spec 003 §5.4): see docs and the attack tests.
contract MExpmVerifier {
    using BigModArith for bytes;

    /// @notice Widest modulus accepted, in bytes (4096 bits).
    uint256 public constant MAX_MODULUS_BYTES = 512;
    /// @notice Most bases per verification (bounds calldata and loops).
    uint256 public constant MAX_BASES = 1024;

    /// @notice Input of variant A. Every value is big-endian with exactly `modulus.length` bytes;
    ///         `gammas` and `gammaPrimes` hold n such values each, concatenated.
    struct Faithful {
        bytes modulus; // L = N·p, odd, length a positive multiple of 32 bytes
        bytes q0;
        bytes q1;
        bytes gammas; // γ_1..γ_n
        bytes gammaPrimes; // γ'_1..γ'_n
        bytes rv3; // r·v3 mod L
        bytes v4;
        bytes delta1; // exponent, at most modulus.length bytes
        bytes delta2;
    }

    /// @notice Input of variant B: the same quantities as uint256.
    struct PaperScale {
        uint256 modulus;
        uint256 q0;
        uint256 q1;
        uint256[] gammas;
        uint256[] gammaPrimes;
        uint256 rv3;
        uint256 v4;
        uint256 delta1;
        uint256 delta2;
    }

    /// @notice The modulus is empty, too wide, not a multiple of 32 bytes, even, or below 3.
    error InvalidModulus();
    /// @notice A value does not have the modulus' width (`field`: 0 q0, 1 q1, 2 rv3, 3 v4, 4 gammas, 5 gammaPrimes).
    error BadEncoding(uint8 field);
    /// @notice An exponent is longer than the modulus.
    error ExponentTooLong();
    /// @notice The two result vectors differ in length, are empty, or exceed MAX_BASES.
    error BadCount(uint256 gammas, uint256 gammaPrimes);
    /// @notice A value is not below the modulus (`field` as in BadEncoding, `index` within a vector).
    error ValueNotBelowModulus(uint8 field, uint256 index);

    /// @notice Variant A: Algorithm 2 on big-endian byte strings.
    /// @param input The results σE, πE and the revealed Aux = {rv3, v4, δ1, δ2}.
    /// @return ok Whether Eq. (5) holds.
    /// @return sigma The encoded result rv3·Q0^{δ1}·∏γ_i mod L when ok, else empty.
    function verify(Faithful calldata input) external view returns (bool ok, bytes memory sigma) {
        bytes memory modulus = input.modulus;
        uint256 width = modulus.length;
        if (width == 0 || width % 32 != 0 || width > MAX_MODULUS_BYTES || !modulus.isOdd()) {
            revert InvalidModulus();
        }
        if (_isBelowThree(modulus)) revert InvalidModulus();
        if (input.delta1.length > width || input.delta2.length > width) revert ExponentTooLong();
        uint256 n = input.gammas.length / width;
        if (
            input.gammas.length % width != 0 || input.gammaPrimes.length % width != 0 || n == 0 || n > MAX_BASES
                || input.gammaPrimes.length != input.gammas.length
        ) revert BadCount(input.gammas.length / width, input.gammaPrimes.length / width);

        bytes memory lhs = _checked(input.rv3, modulus, 2, 0);
        lhs = lhs.mulmod_(BigModArith.modexp(_checked(input.q0, modulus, 0, 0), input.delta1, modulus), modulus);
        bytes memory rhs = _checked(input.v4, modulus, 3, 0);
        rhs = rhs.mulmod_(BigModArith.modexp(_checked(input.q1, modulus, 1, 0), input.delta2, modulus), modulus);
        for (uint256 i; i < n; ++i) {
            lhs = lhs.mulmod_(_checked(input.gammas[i * width:(i + 1) * width], modulus, 4, i), modulus);
            rhs = rhs.mulmod_(_checked(input.gammaPrimes[i * width:(i + 1) * width], modulus, 5, i), modulus);
        }
        ok = lhs.equal(rhs);
        sigma = ok ? lhs : new bytes(0);
    }

    /// @notice Variant B: Algorithm 2 with every value in a uint256 (the paper's measurement scale).
    /// @param input The results σE, πE and the revealed Aux = {rv3, v4, δ1, δ2}.
    /// @return ok Whether Eq. (5) holds.
    /// @return sigma The encoded result rv3·Q0^{δ1}·∏γ_i mod L when ok, else 0.
    function verifyPaperScale(PaperScale calldata input) external view returns (bool ok, uint256 sigma) {
        uint256 m = input.modulus;
        if (m < 3 || m & 1 == 0) revert InvalidModulus();
        uint256 n = input.gammas.length;
        if (n == 0 || n > MAX_BASES || input.gammaPrimes.length != n) revert BadCount(n, input.gammaPrimes.length);
        if (input.q0 >= m) revert ValueNotBelowModulus(0, 0);
        if (input.q1 >= m) revert ValueNotBelowModulus(1, 0);
        if (input.rv3 >= m) revert ValueNotBelowModulus(2, 0);
        if (input.v4 >= m) revert ValueNotBelowModulus(3, 0);
        uint256 lhs = mulmod(input.rv3, _powmod(input.q0, input.delta1, m), m);
        uint256 rhs = mulmod(input.v4, _powmod(input.q1, input.delta2, m), m);
        for (uint256 i; i < n; ++i) {
            uint256 gamma = input.gammas[i];
            uint256 gammaPrime = input.gammaPrimes[i];
            if (gamma >= m) revert ValueNotBelowModulus(4, i);
            if (gammaPrime >= m) revert ValueNotBelowModulus(5, i);
            lhs = mulmod(lhs, gamma, m);
            rhs = mulmod(rhs, gammaPrime, m);
        }
        ok = lhs == rhs;
        sigma = ok ? lhs : 0;
    }

    function _checked(bytes memory value, bytes memory modulus, uint8 field, uint256 index)
        private
        pure
        returns (bytes memory)
    {
        if (value.length != modulus.length) revert BadEncoding(field);
        if (!value.lessThan(modulus)) revert ValueNotBelowModulus(field, index);
        return value;
    }

    function _isBelowThree(bytes memory m) private pure returns (bool) {
        for (uint256 i; i + 1 < m.length; ++i) {
            if (m[i] != 0) return false;
        }
        return uint8(m[m.length - 1]) < 3;
    }

    function _powmod(uint256 base, uint256 exponent, uint256 m) private view returns (uint256 result) {
        bytes memory out = BigModArith.modexp(abi.encode(base), abi.encode(exponent), abi.encode(m));
        result = uint256(bytes32(out));
    }
}
