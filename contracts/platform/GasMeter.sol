// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title GasMeter: execution gas of a view call, measured inside the EVM
/// @notice Papers report "execution cost" (Remix), which excludes the 21,000 transaction base and calldata
///         pricing that `eth_estimateGas` includes. This meter reports the gas consumed by a static call
///         from inside the EVM: the callee's execution plus the CALL itself (cold account access, 2,600).
///         Figures from it are therefore upper bounds of the paper's notion, never flattering ones.
contract GasMeter {
    /// @notice Gas used by `target.staticcall(data)`, whether it succeeded, and what it returned.
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @return gasUsed Gas consumed by the call, CALL overhead included.
    /// @return success Whether the call succeeded.
    /// @return result The return (or revert) data.
    function measure(address target, bytes calldata data)
        external
        view
        returns (uint256 gasUsed, bool success, bytes memory result)
    {
        uint256 before = gasleft();
        (success, result) = target.staticcall(data);
        gasUsed = before - gasleft();
    }
}
