// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title OscBase: what the four off-chain contracts of Meta-BMEOC share (spec 000 §2.4-2.7, §3.8)
/// @notice OCTVSC, RSSC, ACCSC and SSC run *off chain*, in the in-process EVM of every enclave of an execution
///         environment (`offchain/outsourcing/osc/runtime.py`), never on the devnet. Each one:
///         - answers only the enclave's runtime (`operator`, the deployer) and the sibling contracts bound once
///           with `bind`;
///         - folds every state transition into a running hash `stateHash = keccak256(stateHash, kind, digest)`,
///           so the environment's state root (a hash of the four `stateHash`es) commits to the whole history
///           of applied steps, hence to the state (the code is deterministic).
///         Nothing here holds tokens: amounts are accounting that ASC enforces on chain.
abstract contract OscBase {
    /// @notice The enclave runtime that drives this contract (the deployer).
    address public operator;
    /// @notice The sibling contracts (zero until `bind`).
    address public octvsc;
    address public rssc;
    address public accsc;
    address public ssc;
    /// @notice Running hash over every state transition of this contract.
    bytes32 public stateHash;
    /// @notice Number of state transitions applied.
    uint256 public transitions;

    error NotOperator(address caller);
    error NotAuthorized(address caller);
    error AlreadyBound();
    error ZeroAddress();

    /// @notice The sibling contracts were bound.
    event Bound(address octvsc, address rssc, address accsc, address ssc);
    /// @notice A state transition was applied.
    event Transition(uint256 indexed index, bytes32 indexed kind, bytes32 digest, bytes32 stateHash);

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        _;
    }

    modifier onlyFrom(address allowed) {
        if (msg.sender != allowed || allowed == address(0)) revert NotAuthorized(msg.sender);
        _;
    }

    constructor() {
        operator = msg.sender;
    }

    /// @notice Binds the four contracts together, once.
    /// @param octvsc_ The OCTVSC.
    /// @param rssc_ The RSSC.
    /// @param accsc_ The ACCSC.
    /// @param ssc_ The SSC.
    function bind(address octvsc_, address rssc_, address accsc_, address ssc_) external onlyOperator {
        if (octvsc != address(0)) revert AlreadyBound();
        if (octvsc_ == address(0) || rssc_ == address(0) || accsc_ == address(0) || ssc_ == address(0)) {
            revert ZeroAddress();
        }
        octvsc = octvsc_;
        rssc = rssc_;
        accsc = accsc_;
        ssc = ssc_;
        emit Bound(octvsc_, rssc_, accsc_, ssc_);
    }

    /// @dev Folds one transition into `stateHash`.
    function _transition(bytes32 kind, bytes32 digest) internal {
        bytes32 next = keccak256(abi.encode(stateHash, kind, digest));
        stateHash = next;
        uint256 index = transitions++;
        emit Transition(index, kind, digest, next);
    }
}
