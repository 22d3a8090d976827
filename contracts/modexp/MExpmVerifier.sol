// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BigModArith} from "../platform/BigModArith.sol";

/// @title MExpmVerifier: Algorithm 2 of MExpm (seed 003), stateless, in two variants
/// @notice MExpm lets a vehicle offload ∏ u_i^{a_i} mod N to an MEC server; the server returns
///         σE = {Q0, γ_1..γ_n} and πE = {Q1, γ'_1..γ'_n}, and the verifier checks Eq. (5):
///             rv3 · Q0^{δ1} · ∏ γ_i  ≡  v4 · Q1^{δ2} · ∏ γ'_i   (mod L)
///         returning the encoded result σ = rv3 · Q0^{δ1} · ∏ γ_i mod L when it holds (spec 003 §3.4).
///         - `verify` (variant A, faithful): L of any width up to 4096 bits as big-endian bytes (1024 bits in
///           the paper), modexp through the EIP-198 precompile, each product a·b mod L as
///           ((a+b)² − (a−b)²)/4 with the two squares taken mod 4L by the precompile (spec 003 §4.4 (ii)).
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

        bytes memory scratch = _scratch(modulus);
        bytes memory value = new bytes(width);
        bytes memory lhs = new bytes(width);
        _load(input.rv3, modulus, 2, 0, lhs);
        _load(input.q0, modulus, 0, 0, value);
        _mulmodInto(lhs, BigModArith.modexp(value, input.delta1, modulus), scratch);
        bytes memory rhs = new bytes(width);
        _load(input.v4, modulus, 3, 0, rhs);
        _load(input.q1, modulus, 1, 0, value);
        _mulmodInto(rhs, BigModArith.modexp(value, input.delta2, modulus), scratch);
        for (uint256 i; i < n; ++i) {
            _load(input.gammas[i * width:(i + 1) * width], modulus, 4, i, value);
            _mulmodInto(lhs, value, scratch);
            _load(input.gammaPrimes[i * width:(i + 1) * width], modulus, 5, i, value);
            _mulmodInto(rhs, value, scratch);
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

    /// @dev Copy the calldata value into `dst` after checking its width and that it is below `modulus`.
    function _load(bytes calldata value, bytes memory modulus, uint8 field, uint256 index, bytes memory dst)
        private
        pure
    {
        if (value.length != modulus.length) revert BadEncoding(field);
        assembly ("memory-safe") {
            calldatacopy(add(dst, 0x20), value.offset, value.length)
        }
        if (!_below(dst, modulus)) revert ValueNotBelowModulus(field, index);
    }

    /// @dev Whether `a < m` (both big-endian, same length): the first differing word decides.
    function _below(bytes memory a, bytes memory m) private pure returns (bool result) {
        assembly ("memory-safe") {
            let words := div(mload(m), 32)
            let pa := add(a, 0x20)
            let pm := add(m, 0x20)
            for { let i := 0 } lt(i, words) { i := add(i, 1) } {
                let x := mload(add(pa, mul(i, 32)))
                let y := mload(add(pm, mul(i, 32)))
                if iszero(eq(x, y)) {
                    result := lt(x, y)
                    break
                }
            }
        }
    }

    /// @dev The workspace of `_mulmodInto` for a k-word modulus L: the modexp input (three lengths, a (k+1)-word
    ///      base, the exponent byte 2, the (k+1)-word modulus 4L) and room for two (k+1)-word squares.
    function _scratch(bytes memory m) private pure returns (bytes memory scratch) {
        uint256 wb = m.length + 32;
        uint256 inputLength = 97 + 2 * wb;
        scratch = new bytes(((inputLength + 31) & ~uint256(31)) + 2 * wb);
        assembly ("memory-safe") {
            let input := add(scratch, 0x20)
            mstore(input, wb)
            mstore(add(input, 0x20), 1)
            mstore(add(input, 0x40), wb)
            let base := add(input, 0x60)
            mstore8(add(base, wb), 2)
            // modulus 4L: (k+1) words written after the exponent byte
            let k := div(mload(m), 32)
            let src := add(m, 0x20)
            let dst := add(add(base, wb), 1)
            let carry := 0
            for { let t := 0 } lt(t, k) { t := add(t, 1) } {
                let w := mload(add(src, mul(sub(sub(k, 1), t), 32)))
                mstore(add(dst, mul(sub(k, t), 32)), or(shl(2, w), carry))
                carry := shr(254, w)
            }
            mstore(dst, carry)
        }
    }

    /// @dev `acc := acc·b mod L` for acc, b < L (k words) as ((acc+b)² − (acc−b)²)/4 with the squares taken
    ///      mod 4L by two modexp precompile calls of exponent 2 (spec 003 §4.4 option (ii)): 4ab mod 4L equals
    ///      4·(ab mod L), so a right shift by two bits ends it. No 2k-limb product, no memory growth.
    function _mulmodInto(bytes memory acc, bytes memory b, bytes memory scratch) private view {
        bool ok;
        assembly ("memory-safe") {
            // Little-endian limb t of a `words`-word big-endian value at p lives at p + (words-1-t)·32.
            // dst (k+1 words) = x + y (k words each)
            function addTo(dst, x, y, words) {
                let carry := 0
                for { let t := 0 } lt(t, words) { t := add(t, 1) } {
                    let off := mul(sub(sub(words, 1), t), 32)
                    let xv := mload(add(x, off))
                    let sum := add(xv, mload(add(y, off)))
                    let c1 := lt(sum, xv)
                    let sum2 := add(sum, carry)
                    mstore(add(dst, add(off, 32)), sum2)
                    carry := or(c1, lt(sum2, sum))
                }
                mstore(dst, carry)
            }
            // x := x − y in place (both `words` words); returns the final borrow
            function subInPlace(x, y, words) -> borrow {
                for { let t := 0 } lt(t, words) { t := add(t, 1) } {
                    let off := mul(sub(sub(words, 1), t), 32)
                    let xv := mload(add(x, off))
                    let yv := mload(add(y, off))
                    let d := sub(xv, yv)
                    let b1 := lt(xv, yv)
                    mstore(add(x, off), sub(d, borrow))
                    borrow := or(b1, lt(d, borrow))
                }
            }
            // x := x + y in place, carry out dropped
            function addInPlace(x, y, words) {
                let carry := 0
                for { let t := 0 } lt(t, words) { t := add(t, 1) } {
                    let off := mul(sub(sub(words, 1), t), 32)
                    let xv := mload(add(x, off))
                    let sum := add(xv, mload(add(y, off)))
                    let c1 := lt(sum, xv)
                    let sum2 := add(sum, carry)
                    mstore(add(x, off), sum2)
                    carry := or(c1, lt(sum2, sum))
                }
            }
            // dst (k+1 words) = |x − y| (k words each)
            function absDiffTo(dst, x, y, words) {
                for { let i := 0 } lt(i, words) { i := add(i, 1) } {
                    let xv := mload(add(x, mul(i, 32)))
                    let yv := mload(add(y, mul(i, 32)))
                    if iszero(eq(xv, yv)) {
                        if lt(xv, yv) {
                            let tmp := x
                            x := y
                            y := tmp
                        }
                        break
                    }
                }
                mstore(dst, 0)
                mcopy(add(dst, 32), x, mul(words, 32))
                pop(subInPlace(add(dst, 32), y, words))
            }

            let k := div(mload(acc), 32)
            let wb := add(mload(acc), 32) // k+1 words, in bytes
            let input := add(scratch, 0x20)
            let inputLength := add(add(97, wb), wb)
            let squares := add(input, and(add(inputLength, 31), not(31)))
            let m4 := add(add(add(input, 0x60), wb), 1)
            addTo(add(input, 0x60), add(acc, 0x20), add(b, 0x20), k)
            ok := staticcall(gas(), 0x05, input, inputLength, squares, wb)
            absDiffTo(add(input, 0x60), add(acc, 0x20), add(b, 0x20), k)
            ok := and(ok, staticcall(gas(), 0x05, input, inputLength, add(squares, wb), wb))
            if subInPlace(squares, add(squares, wb), add(k, 1)) { addInPlace(squares, m4, add(k, 1)) }
            // out = (S − D) >> 2: out limb t = (limb t >> 2) | (limb t+1 << 254)
            for { let t := 0 } lt(t, k) { t := add(t, 1) } {
                let lo := mload(add(squares, mul(sub(k, t), 32)))
                let hi := mload(add(squares, mul(sub(sub(k, 1), t), 32)))
                mstore(add(add(acc, 0x20), mul(sub(sub(k, 1), t), 32)), or(shr(2, lo), shl(254, hi)))
            }
        }
        if (!ok) revert BigModArith.ModexpFailed();
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
