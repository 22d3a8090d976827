// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title MetaCoin (MTC): the one token every metatrust system pays, stakes and escrows in
/// @notice Fixed supply of 1,000,000,000 MTC (18 decimals), minted once at deployment into the four pools
///         of Eq. (15) of Meta-BMEOC (seed 000, §IV.D): T = T_D + T_I + T_C + T_P, i.e. network operation
///         and development, early contributors and investors, community construction, and outsourcing
///         computation incentives. The split is a deployment parameter (the paper gives none).
///         There is no mint or burn function after construction: the supply is a constant.
/// @dev EIP-2612 `permit` lets escrow contracts take a payment in one transaction.
contract MetaCoin is ERC20, ERC20Permit {
    /// @notice The constant total supply T^MTC, in base units.
    uint256 public constant TOTAL_SUPPLY = 1_000_000_000 ether;

    /// @notice The four genesis pools of Eq. (15), in the paper's order.
    enum Pool {
        Development, // T_D: network operation and development
        Investors, // T_I: early contributors and investors
        Community, // T_C: community construction
        Incentives // T_P: outsourcing computation incentives (funds reputation bonuses)
    }

    /// @notice The address that received each pool at genesis, indexed by `Pool`.
    address[4] private _poolAddresses;

    /// @notice A genesis pool address is the zero address.
    error PoolAddressZero(Pool pool);
    /// @notice The four pool amounts do not add up to `TOTAL_SUPPLY`.
    error AllocationMismatch(uint256 sum, uint256 expected);

    /// @notice Emitted once per pool at deployment.
    event GenesisAllocation(Pool indexed pool, address indexed holder, uint256 amount);

    /// @param pools Receivers of T_D, T_I, T_C and T_P, in that order.
    /// @param amounts Amounts (base units) for the same pools; they must add up to `TOTAL_SUPPLY`.
    constructor(address[4] memory pools, uint256[4] memory amounts)
        ERC20("MetaCoin", "MTC")
        ERC20Permit("MetaCoin")
    {
        uint256 sum;
        for (uint256 i; i < 4; ++i) {
            if (pools[i] == address(0)) revert PoolAddressZero(Pool(i));
            sum += amounts[i];
        }
        if (sum != TOTAL_SUPPLY) revert AllocationMismatch(sum, TOTAL_SUPPLY);
        for (uint256 i; i < 4; ++i) {
            _poolAddresses[i] = pools[i];
            _mint(pools[i], amounts[i]);
            emit GenesisAllocation(Pool(i), pools[i], amounts[i]);
        }
    }

    /// @notice The address that received `pool` at genesis.
    /// @param pool One of the four pools of Eq. (15).
    /// @return holder The genesis receiver of that pool.
    function poolAddress(Pool pool) external view returns (address holder) {
        return _poolAddresses[uint256(pool)];
    }
}
