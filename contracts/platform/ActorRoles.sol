// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ActorRoles: the role bits of every actor of every metatrust system
/// @notice A node's role set in the registry (RSC) is a bitmask of these constants. The Python mirror is
///         `offchain.chain.roles.ActorRole`; a test keeps both in step through `RSC.knownRoles()`.
library ActorRoles {
    // Meta-BMEOC (seed 000)
    uint64 internal constant MTD = 1 << 0; // metaverse terminal device (client)
    uint64 internal constant CSN = 1 << 1; // computational service node (edge server)
    uint64 internal constant ENCLAVE = 1 << 2; // off-chain contract enclave
    // MetaAICM (seed 001)
    uint64 internal constant MSP = 1 << 3; // model service provider / task requester
    uint64 internal constant ML_WORKER = 1 << 4;
    uint64 internal constant DATA_WORKER = 1 << 5;
    uint64 internal constant ORACLE = 1 << 6;
    uint64 internal constant COMMITTEE = 1 << 7;
    uint64 internal constant AVATAR = 1 << 8; // marketplace buyer or seller
    // RSMS (seed 002)
    uint64 internal constant RESOURCE_PROVIDER = 1 << 9; // MSRP
    uint64 internal constant POOL_MANAGER = 1 << 10; // RPM
    uint64 internal constant RESOURCE_NODE = 1 << 11; // RN
    uint64 internal constant SERVICE_USER = 1 << 12;
    // MExpm (seed 003)
    uint64 internal constant VEHICLE = 1 << 13; // IV
    uint64 internal constant MEC_SERVER = 1 << 14;
    uint64 internal constant SERVICE_AGENCY = 1 << 15; // SA
    uint64 internal constant RSU = 1 << 16;
    // Web3 data computing (seed 004)
    uint64 internal constant WEB3_USER = 1 << 17; // data owner
    uint64 internal constant STORAGE_SERVER = 1 << 18;
    uint64 internal constant COMPUTE_SERVER = 1 << 19;
    uint64 internal constant SERVICE_PROVIDER = 1 << 20; // Web3 SP
    uint64 internal constant ONION_ROUTER = 1 << 21;

    /// @dev Every defined bit; a role set outside this mask is rejected.
    uint64 internal constant ALL = (1 << 22) - 1;
}
