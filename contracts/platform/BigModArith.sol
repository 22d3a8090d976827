// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BigModArith: modular arithmetic on big-endian byte strings through the modexp precompile
/// @notice Numbers are big-endian `bytes` whose length is a multiple of 32 (leading zeros allowed). The
///         modulus fixes the width: results have exactly `m.length` bytes.
/// @dev Multiplication forms the full 2k-limb product (schoolbook, 512-bit limb products through
///      `mulmod(x, y, ~0)`, in assembly) and reduces it with one EIP-198 modexp call of exponent 1
///      (spec 003 §4.4, option (i)).
library BigModArith {
    /// @notice The modexp precompile failed (it only fails when it runs out of gas).
    error ModexpFailed();

    /// @notice `base ^ exponent mod m` (all big-endian; the result has `m.length` bytes).
    function modexp(bytes memory base, bytes memory exponent, bytes memory m) internal view returns (bytes memory out) {
        bytes memory input = abi.encodePacked(base.length, exponent.length, m.length, base, exponent, m);
        bool ok;
        out = new bytes(m.length);
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x05, add(input, 0x20), mload(input), add(out, 0x20), mload(m))
        }
        if (!ok) revert ModexpFailed();
    }

    /// @notice `a * b mod m`; `a` and `b` must already be below `m` and have `m.length` bytes.
    /// @dev Writes the modexp input in one buffer: the three lengths, the 2k-limb product as the base,
    ///      the exponent 1, the modulus; then reduces with one precompile call.
    function mulmod_(bytes memory a, bytes memory b, bytes memory m) internal view returns (bytes memory out) {
        uint256 k = m.length / 32;
        out = new bytes(m.length);
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            let baseLength := mul(64, k)
            let inputLength := add(add(97, baseLength), mload(m)) // 3 words + base + 1 byte + modulus
            mstore(0x40, add(input, and(add(inputLength, 31), not(31))))
            mstore(input, baseLength)
            mstore(add(input, 0x20), 1)
            mstore(add(input, 0x40), mload(m))
            let base := add(input, 0x60)
            // The product area must start zeroed: free memory may hold stale bytes.
            for { let w := 0 } lt(w, baseLength) { w := add(w, 32) } { mstore(add(base, w), 0) }
            let aPtr := add(a, 0x20)
            let bPtr := add(b, 0x20)
            // Address of little-endian limb s of the product: base + (2k - 1 - s)·32.
            let top := add(base, sub(baseLength, 32))
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                let ai := mload(add(aPtr, mul(sub(sub(k, 1), i), 32)))
                if ai {
                    let carry := 0
                    for { let j := 0 } lt(j, k) { j := add(j, 1) } {
                        let bj := mload(add(bPtr, mul(sub(sub(k, 1), j), 32)))
                        // 512-bit ai·bj = hi·2^256 + lo
                        let lo := mul(ai, bj)
                        let mm := mulmod(ai, bj, not(0))
                        let hi := sub(sub(mm, lo), lt(mm, lo))
                        let slot := sub(top, mul(add(i, j), 32))
                        let sum := add(mload(slot), lo)
                        let carryOne := lt(sum, lo)
                        let sumTwo := add(sum, carry)
                        let carryTwo := lt(sumTwo, carry)
                        mstore(slot, sumTwo)
                        // p + lo + carry + hi·2^256 <= 2^512 - 1, so the new carry fits in one limb.
                        carry := add(add(hi, carryOne), carryTwo)
                    }
                    // Limb i + k is still zero: earlier rows reached at most limb i + k - 1.
                    mstore(sub(top, mul(add(i, k), 32)), carry)
                }
            }
            mstore8(add(base, baseLength), 1) // the exponent
            mcopy(add(add(base, baseLength), 1), add(m, 0x20), mload(m))
            ok := staticcall(gas(), 0x05, input, inputLength, add(out, 0x20), mload(m))
        }
        if (!ok) revert ModexpFailed();
    }

    /// @notice Whether `a < m` (same length).
    function lessThan(bytes memory a, bytes memory m) internal pure returns (bool) {
        uint256 k = m.length / 32;
        for (uint256 t = k; t > 0; --t) {
            uint256 x = _limb(a, k, t - 1);
            uint256 y = _limb(m, k, t - 1);
            if (x != y) return x < y;
        }
        return false;
    }

    /// @notice Whether `a` equals `b` (same length).
    function equal(bytes memory a, bytes memory b) internal pure returns (bool) {
        return a.length == b.length && keccak256(a) == keccak256(b);
    }

    /// @notice Whether `m` is odd.
    function isOdd(bytes memory m) internal pure returns (bool) {
        return m.length > 0 && uint8(m[m.length - 1]) & 1 == 1;
    }

    /// @dev Limb `t` (little-endian index) of the k-limb number `x`.
    function _limb(bytes memory x, uint256 k, uint256 t) private pure returns (uint256 word) {
        uint256 offset = (k - 1 - t) * 32;
        assembly ("memory-safe") {
            word := mload(add(add(x, 0x20), offset))
        }
    }
}
