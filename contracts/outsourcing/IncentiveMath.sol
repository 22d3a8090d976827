// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title IncentiveMath: the settlement arithmetic of Eq. (14) of Meta-BMEOC (seed 000, §IV.D)
/// @notice The SSC rule of spec §4 [R], bit for bit as `offchain/outsourcing/incentives.py` computes it
///         (floor rounding everywhere; ϱ is a WAD, 1e18 = 1.0):
///         B_mtd = Dep. / m; a malicious CSN loses min(ϱ·(B_mtd + 𝒳), bonded stake); the slashed stake is
///         split equally among the honest CSNs of the task, the remainder going to the incentive pool; the
///         MTD gets back B_mtd for every malicious CSN and the remainder Dep. mod m.
library IncentiveMath {
    /// @notice 1.0 in WAD fixed point.
    uint256 internal constant WAD = 1e18;

    /// @notice B_mtd = Dep. / m (spec §7 #13).
    /// @param deposit Dep., the MTD's escrowed deposit.
    /// @param m The number of CSNs of the task (> 0).
    /// @return The reward of one CSN.
    function rewardPerCsn(uint256 deposit, uint256 m) internal pure returns (uint256) {
        return deposit / m;
    }

    /// @notice The penalty ϱ·(B_mtd + 𝒳), capped at the bonded stake (spec §7 #17).
    /// @param penaltyWad ϱ as a WAD.
    /// @param reward B_mtd.
    /// @param basicStake 𝒳, the basic stake of a CSN.
    /// @param bonded The CSN's bonded stake.
    /// @return The amount to slash.
    function penalty(uint256 penaltyWad, uint256 reward, uint256 basicStake, uint256 bonded)
        internal
        pure
        returns (uint256)
    {
        return Math.min(Math.mulDiv(penaltyWad, reward + basicStake, WAD), bonded);
    }

    /// @notice Splits the slashed stake among the honest CSNs.
    /// @param slashedTotal The stake slashed in the task.
    /// @param honest The number of honest CSNs.
    /// @return share What each honest CSN receives.
    /// @return dust The remainder (everything when no CSN is honest), kept by the incentive pool.
    function splitSlashed(uint256 slashedTotal, uint256 honest) internal pure returns (uint256 share, uint256 dust) {
        if (honest == 0) return (0, slashedTotal);
        share = slashedTotal / honest;
        dust = slashedTotal - share * honest;
    }
}
