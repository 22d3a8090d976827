// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Candidate, IRSSC, ISSC} from "./IOsc.sol";
import {OscBase} from "./OscBase.sol";

/// @title RSSC: the resource scheduling smart contract (spec 000 §2.5, §3.10)
/// @notice Off chain (in every enclave's EVM). Chooses Group_C, m CSNs, for a task OCTVSC accepted:
///         1. candidates: the ones the Leader marks eligible (active, bonded, idle) and SSC has not blacklisted;
///         2. order: ascending `keccak256(abi.encode(seed, taskId, csn))` (the seed is the Leader's, the same in
///            every enclave, so every enclave makes the same choice and nobody outside can predict it);
///         3. greedy: take candidates in that order, skipping one whose provider already has t members (the
///            diversity rule "at most t per provider", spec §3.10 (c)), until m are chosen;
///         4. index j = position + 1; salt = keccak256(SALT_TAG, seed, taskId);
///            commitment = keccak256(GROUP_TAG ‖ salt ‖ the m addresses, 20 bytes each), which is
///            `offchain.outsourcing.asc.group_commitment` and what ASC.anchorSchedule receives.
///         The group and the index map stay private to the enclaves (and the MTD).
contract RSSC is OscBase, IRSSC {
    /// @notice Domain tag of the group commitment (`offchain.outsourcing.asc.GROUP_TAG`).
    bytes public constant GROUP_TAG = "metatrust/bmeoc/Group_C/v1";
    /// @notice Domain tag of the salt derivation.
    bytes32 public constant SALT_TAG = keccak256("metatrust/bmeoc/RSSC/salt/v1");
    /// @notice Upper bound on the candidate list, so selection is bounded.
    uint256 public constant MAX_CANDIDATES = 512;

    mapping(bytes32 taskId => address[]) private _groups;
    mapping(bytes32 taskId => mapping(address csn => uint256)) private _index;

    error TooManyCandidates(uint256 count, uint256 maximum);
    error CandidatesNotSorted(uint256 position);
    error NotEnoughCandidates(uint256 available, uint256 m);
    error InvalidThreshold(uint256 t);
    error GroupExists(bytes32 taskId);

    /// @notice Group_C was chosen (only inside the enclave's EVM: never on chain).
    event GroupSelected(bytes32 indexed taskId, uint256 m, bytes32 commitment);

    /// @notice Chooses Group_C (called by OCTVSC once it accepted TX_t).
    /// @param taskId The task.
    /// @param m The group size.
    /// @param t The privacy threshold: at most t members per provider.
    /// @param candidates The candidates, strictly ascending by address.
    /// @param seed The Leader's selection seed.
    /// @return group Group_C in index order.
    /// @return salt The commitment's salt.
    /// @return commitment H(Group_C ‖ salt).
    function select(bytes32 taskId, uint256 m, uint256 t, Candidate[] calldata candidates, bytes32 seed)
        external
        onlyFrom(octvsc)
        returns (address[] memory group, bytes32 salt, bytes32 commitment)
    {
        if (_groups[taskId].length != 0) revert GroupExists(taskId);
        if (t == 0) revert InvalidThreshold(t);
        group = _choose(taskId, m, t, candidates, seed);
        salt = keccak256(abi.encode(SALT_TAG, seed, taskId));
        commitment = groupCommitment(group, salt);
        address[] storage stored = _groups[taskId];
        for (uint256 i; i < m; ++i) {
            stored.push(group[i]);
            _index[taskId][group[i]] = i + 1;
        }
        emit GroupSelected(taskId, m, commitment);
        _transition("select", keccak256(abi.encode(taskId, commitment)));
    }

    /// @notice H(Group_C ‖ salt) = keccak256(GROUP_TAG ‖ salt ‖ addresses (20 bytes each)).
    /// @param group The CSNs in index order.
    /// @param salt 32 bytes.
    /// @return The commitment.
    function groupCommitment(address[] memory group, bytes32 salt) public pure returns (bytes32) {
        bytes memory packed = abi.encodePacked(GROUP_TAG, salt);
        for (uint256 i; i < group.length; ++i) {
            packed = abi.encodePacked(packed, group[i]);
        }
        return keccak256(packed);
    }

    /// @notice Group_C of a task (empty when unknown).
    /// @param taskId The task.
    /// @return The CSNs in index order.
    function groupOf(bytes32 taskId) external view returns (address[] memory) {
        return _groups[taskId];
    }

    /// @notice The index j of a CSN in a task's group (0 when not a member).
    /// @param taskId The task.
    /// @param csn The CSN.
    /// @return j in 1..m, or 0.
    function indexOf(bytes32 taskId, address csn) external view returns (uint256) {
        return _index[taskId][csn];
    }

    /// @notice The ordering key of a candidate.
    /// @param seed The selection seed.
    /// @param taskId The task.
    /// @param csn The candidate.
    /// @return keccak256(abi.encode(seed, taskId, csn)) as an integer.
    function selectionKey(bytes32 seed, bytes32 taskId, address csn) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, taskId, csn)));
    }

    function _choose(bytes32 taskId, uint256 m, uint256 t, Candidate[] calldata candidates, bytes32 seed)
        private
        view
        returns (address[] memory group)
    {
        (uint256[] memory order, uint256 count) = _order(taskId, candidates, seed);
        group = new address[](m);
        bytes32[] memory providers = new bytes32[](m);
        uint256[] memory used = new uint256[](m);
        uint256 providerCount;
        uint256 chosen;
        for (uint256 r; r < count && chosen < m; ++r) {
            Candidate calldata candidate = candidates[order[r]];
            uint256 p;
            while (p < providerCount && providers[p] != candidate.provider) ++p;
            if (p == providerCount) {
                providers[p] = candidate.provider;
                ++providerCount;
            }
            if (used[p] >= t) continue;
            ++used[p];
            group[chosen++] = candidate.csn;
        }
        if (chosen < m) revert NotEnoughCandidates(chosen, m);
    }

    /// @dev Positions of the usable candidates, ascending by selection key (insertion sort, n <= 512).
    function _order(bytes32 taskId, Candidate[] calldata candidates, bytes32 seed)
        private
        view
        returns (uint256[] memory order, uint256 count)
    {
        uint256 n = candidates.length;
        if (n > MAX_CANDIDATES) revert TooManyCandidates(n, MAX_CANDIDATES);
        uint256[] memory keys = new uint256[](n);
        order = new uint256[](n);
        address previous;
        for (uint256 i; i < n; ++i) {
            address csn = candidates[i].csn;
            if (csn <= previous) revert CandidatesNotSorted(i);
            previous = csn;
            if (!candidates[i].eligible || ISSC(ssc).isBlacklisted(csn)) continue;
            uint256 key = selectionKey(seed, taskId, csn);
            uint256 j = count;
            while (j > 0 && keys[j - 1] > key) {
                keys[j] = keys[j - 1];
                order[j] = order[j - 1];
                --j;
            }
            keys[j] = key;
            order[j] = i;
            ++count;
        }
    }
}
