// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BigModArith} from "../platform/BigModArith.sol";

/// @title BigModArithMock: exposes the BigModArith library for tests and gas measurements only
contract BigModArithMock {
    /// @notice `a * b mod m` through BigModArith.
    function mulmod_(bytes memory a, bytes memory b, bytes memory m) external view returns (bytes memory) {
        return BigModArith.mulmod_(a, b, m);
    }

    /// @notice `base ^ exponent mod m` through BigModArith.
    function modexp(bytes memory base, bytes memory exponent, bytes memory m) external view returns (bytes memory) {
        return BigModArith.modexp(base, exponent, m);
    }

    /// @notice Whether `a < m`.
    function lessThan(bytes memory a, bytes memory m) external pure returns (bool) {
        return BigModArith.lessThan(a, m);
    }
}
