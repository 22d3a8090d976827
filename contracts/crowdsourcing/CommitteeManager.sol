// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {BlsVrf} from "./BlsVrf.sol";
import {ICommittee} from "./ICommittee.sol";
import {IReputation} from "./IReputation.sol";

/// @title CommitteeManager: the reputation-elected MetaAICM committee (seed 001, §4.5.4, Algorithm 4.3)
/// @notice The committee is an authorised partition of u % of the seats (trusted institutions appointed by the
///         admin) plus a dynamic partition of M seats. Rounds are epochs of `roundBlocks` blocks. During the
///         first W rounds the dynamic seats are the admin's trusted seed nodes (TSNs); afterwards they are
///         re-elected every k rounds (a "term") by Algorithm 4.3: the term's leader (an authorised member, in
///         rotation) publishes a BLS VRF proof π over the term's seed (derived from the hash of the block that
///         precedes the term); the contract verifies π, takes φ₁ = keccak256(π), and draws M distinct
///         candidates with probability proportional to their reputation units read from RC. Seats the
///         candidates cannot fill keep TSNs. Every completed round pays β MTC from a funded pool, split equally
///         over the committee. Anyone can recompute an election (`offchain/crowdsourcing/committee.py`).
/// @dev Distinct draws are sampling without replacement: after each draw the elected node's units leave the
///      pool (same distribution as the spec's rejection loop, but exactly min(M, n) draws, so bounded gas).
///      `literal` (constructor flag) runs the thesis's Algorithm 4.3 as written: M draws with replacement and
///      Idx = ⌊K·φ/(2²⁵⁶−1)⌋, so duplicates leave seats empty and φ = 2²⁵⁶−1 indexes past the last unit.
contract CommitteeManager is AccessControl, ReentrancyGuardTransient, ICommittee {
    using SafeERC20 for IERC20;

    /// @notice Parameters the thesis leaves open (spec §7 A22, A23, A27).
    struct Params {
        uint16 committeeSize; // authorised + dynamic seats, at most MAX_COMMITTEE
        uint8 authorisedPercent; // u: floor(size·u/100) authorised seats, at least one (the leaders)
        uint32 termRounds; // k: rounds between re-elections
        uint32 bootstrapRounds; // W: rounds served by the trusted seed nodes
        uint32 roundBlocks; // blocks per round
        uint32 leaderTimeoutRounds; // rounds after which the next authorised member becomes the leader
        uint96 roundReward; // β: MTC per completed round, split over the committee
        uint128 reputationUnit; // reputation per unit (fixed point, 1e18 = 1.0)
        bool literal; // run the thesis's Algorithm 4.3 verbatim (faithfulness tests only)
    }

    /// @notice Largest committee (MLC takes at most 32 reports per model).
    uint256 public constant MAX_COMMITTEE = 32;
    /// @notice Largest candidate list (bounds the election's gas).
    uint256 public constant MAX_CANDIDATES = 64;

    /// @notice The MetaCoin (MTC) paying the round rewards.
    IERC20 public immutable token;
    /// @notice The reputation contract (read only).
    IReputation public immutable reputation;
    /// @notice Block at which round 1 starts.
    uint256 public immutable genesisBlock;
    /// @notice Seats of the authorised partition.
    uint256 public immutable authorisedSeats;
    /// @notice Seats of the dynamic partition (M).
    uint256 public immutable dynamicSeats;
    /// @notice k.
    uint256 public immutable termRounds;
    /// @notice W.
    uint256 public immutable bootstrapRounds;
    /// @notice Blocks per round.
    uint256 public immutable roundBlocks;
    /// @notice Rounds before the leadership of an unelected term passes on.
    uint256 public immutable leaderTimeoutRounds;
    /// @notice β.
    uint256 public immutable roundReward;
    /// @notice Reputation per unit.
    uint256 public immutable reputationUnit;
    /// @notice Whether elections follow the literal Algorithm 4.3.
    bool public immutable literal;

    address[] private _authorised;
    mapping(address account => uint256 indexPlusOne) private _authorisedIndex;
    address[] private _seeds;
    address[] private _candidates;
    mapping(address account => uint256 indexPlusOne) private _candidateIndex;
    address[] private _dynamic;
    mapping(address account => uint256 generation) private _dynamicGeneration;
    uint256 private _generation = 1;
    mapping(address account => bytes key) private _vrfKey;
    mapping(address account => uint256 blockNumber) private _vrfKeyBlock;

    /// @notice The last elected term (0 while the TSNs serve).
    uint256 public electedTerm;
    /// @notice First round served by the installed dynamic partition.
    uint256 public committeeSinceRound = 1;
    /// @notice Seed of the last election (chains the seed when a term's block hash is out of reach).
    bytes32 public lastSeed;
    /// @notice MTC held for round rewards.
    uint256 public rewardPool;
    /// @notice Whether a round's reward was paid.
    mapping(uint256 round => bool paid) public roundRewarded;

    error ZeroAddress();
    error InvalidParameters();
    error AlreadyAuthorised(address account);
    error NotAuthorised(address account);
    error AuthorisedFull();
    error ConflictingRole(address account);
    error TooManySeedNodes();
    error DuplicateSeedNode(address account);
    error AlreadyCandidate(address account);
    error NotCandidate(address account);
    error CandidatesFull();
    error InvalidVrfKey();
    error ElectionNotOpen(uint256 term);
    error NoLeader();
    error LeaderKeyUnavailable(address leader);
    error InvalidVrfProof();
    error LiteralIndexOutOfRange(uint256 index, uint256 units);
    error InvalidAmount();
    error RoundNotOver(uint256 round);
    error RoundExpired(uint256 round);
    error AlreadyRewarded(uint256 round);
    error EmptyCommittee();
    error InsufficientRewardPool(uint256 available, uint256 needed);

    event AuthorisedAppointed(address indexed account);
    event AuthorisedRemoved(address indexed account);
    event SeedNodesSet(address[] seeds);
    event CandidateRegistered(address indexed account);
    event CandidateWithdrawn(address indexed account);
    event VrfKeySet(address indexed account, bytes32 keyHash);
    event CommitteeElected(
        uint256 indexed term, address indexed leader, bytes32 seed, bytes32 phi, bytes proof, address[] members
    );
    event RewardsFunded(address indexed from, uint256 amount);
    event RoundRewarded(uint256 indexed round, uint256 amountPerMember, uint256 members);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (the platform publisher / consortium).
    /// @param token_ The MetaCoin.
    /// @param reputation_ The reputation contract.
    /// @param params The committee parameters.
    constructor(address admin, IERC20 token_, IReputation reputation_, Params memory params) {
        if (admin == address(0) || address(token_) == address(0) || address(reputation_) == address(0)) {
            revert ZeroAddress();
        }
        uint256 authorised = uint256(params.committeeSize) * params.authorisedPercent / 100;
        if (
            params.committeeSize > MAX_COMMITTEE || params.authorisedPercent > 100 || authorised == 0
                || authorised >= params.committeeSize || params.termRounds == 0 || params.roundBlocks == 0
                || params.leaderTimeoutRounds == 0 || params.reputationUnit == 0
        ) revert InvalidParameters();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        reputation = reputation_;
        genesisBlock = block.number;
        authorisedSeats = authorised;
        dynamicSeats = params.committeeSize - authorised;
        termRounds = params.termRounds;
        bootstrapRounds = params.bootstrapRounds;
        roundBlocks = params.roundBlocks;
        leaderTimeoutRounds = params.leaderTimeoutRounds;
        roundReward = params.roundReward;
        reputationUnit = params.reputationUnit;
        literal = params.literal;
    }

    // ------------------------------------------------------------------------------------------ administration

    /// @notice Appoints a member of the authorised partition (a trusted institution).
    /// @param account The institution's node address.
    function appointAuthorised(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        if (_authorisedIndex[account] != 0) revert AlreadyAuthorised(account);
        if (_authorised.length >= authorisedSeats) revert AuthorisedFull();
        if (_candidateIndex[account] != 0 || _isDynamic(account) || _isSeed(account)) revert ConflictingRole(account);
        _authorised.push(account);
        _authorisedIndex[account] = _authorised.length;
        emit AuthorisedAppointed(account);
    }

    /// @notice Removes a member of the authorised partition (swap-and-pop).
    /// @param account The member.
    function removeAuthorised(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 position = _authorisedIndex[account];
        if (position == 0) revert NotAuthorised(account);
        address last = _authorised[_authorised.length - 1];
        _authorised[position - 1] = last;
        _authorisedIndex[last] = position;
        _authorised.pop();
        delete _authorisedIndex[account];
        emit AuthorisedRemoved(account);
    }

    /// @notice Sets the trusted seed nodes (§4.5.4.3). While no election has happened they are the dynamic
    ///         partition; afterwards they fill the seats the candidates cannot.
    /// @param seeds At most M distinct addresses, none authorised.
    function setSeedNodes(address[] calldata seeds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (seeds.length > dynamicSeats) revert TooManySeedNodes();
        for (uint256 i; i < seeds.length; ++i) {
            if (seeds[i] == address(0)) revert ZeroAddress();
            if (_authorisedIndex[seeds[i]] != 0) revert ConflictingRole(seeds[i]);
            for (uint256 j; j < i; ++j) {
                if (seeds[j] == seeds[i]) revert DuplicateSeedNode(seeds[i]);
            }
        }
        _seeds = seeds;
        if (electedTerm == 0) _install(seeds);
        emit SeedNodesSet(seeds);
    }

    // ------------------------------------------------------------------------------------------ nodes

    /// @notice Registers the caller as a candidate of the dynamic partition.
    function registerCandidate() external {
        if (_candidateIndex[msg.sender] != 0) revert AlreadyCandidate(msg.sender);
        if (_authorisedIndex[msg.sender] != 0) revert ConflictingRole(msg.sender);
        if (_candidates.length >= MAX_CANDIDATES) revert CandidatesFull();
        _candidates.push(msg.sender);
        _candidateIndex[msg.sender] = _candidates.length;
        emit CandidateRegistered(msg.sender);
    }

    /// @notice Withdraws the caller's candidacy (a seat it holds is kept until the next election).
    function withdrawCandidate() external {
        uint256 position = _candidateIndex[msg.sender];
        if (position == 0) revert NotCandidate(msg.sender);
        address last = _candidates[_candidates.length - 1];
        _candidates[position - 1] = last;
        _candidateIndex[last] = position;
        _candidates.pop();
        delete _candidateIndex[msg.sender];
        emit CandidateWithdrawn(msg.sender);
    }

    /// @notice Sets the caller's VRF public key (a G2 point, 256 bytes in EIP-2537 encoding). A key counts for a
    ///         term only if it was set before the block whose hash seeds the term (no key grinding).
    /// @param publicKey The key; must be a valid subgroup point other than the identity.
    function setVrfKey(bytes calldata publicKey) external {
        if (!BlsVrf.isValidPublicKey(publicKey)) revert InvalidVrfKey();
        _vrfKey[msg.sender] = publicKey;
        _vrfKeyBlock[msg.sender] = block.number;
        emit VrfKeySet(msg.sender, keccak256(publicKey));
    }

    // ------------------------------------------------------------------------------------------ election

    /// @notice Installs the dynamic partition of the current term from the leader's VRF proof (Algorithm 4.3).
    ///         Anyone may submit: the proof is what counts, and it is unique for the leader's key and the seed.
    /// @param term The current term (≥ 1, not yet elected).
    /// @param proof The leader's BLS signature on the term's seed (128 bytes, uncompressed G1).
    /// @return members The new dynamic partition.
    function submitElection(uint256 term, bytes calldata proof) external returns (address[] memory members) {
        if (term == 0 || term <= electedTerm || term != termOf(currentRound())) revert ElectionNotOpen(term);
        address leader = leaderOf(term);
        if (leader == address(0)) revert NoLeader();
        bytes memory key = _vrfKey[leader];
        if (key.length == 0 || _vrfKeyBlock[leader] > anchorBlock(term)) revert LeaderKeyUnavailable(leader);
        bytes32 seed = electionSeed(term);
        if (!BlsVrf.verify(key, abi.encodePacked(seed), proof)) revert InvalidVrfProof();
        bytes32 phi = keccak256(proof);
        members = elect(phi);
        electedTerm = term;
        committeeSinceRound = currentRound();
        lastSeed = seed;
        _install(members);
        emit CommitteeElected(term, leader, seed, phi, proof, members);
    }

    /// @notice The dynamic partition that φ₁ = `phi` elects from the current candidates and reputations.
    /// @param phi The VRF output φ₁.
    /// @return members Elected candidates in draw order, then trusted seed nodes for the unfilled seats.
    function elect(bytes32 phi) public view returns (address[] memory members) {
        (address[] memory nodes, uint256[] memory units, uint256 total) = _eligible();
        members = new address[](dynamicSeats);
        uint256 filled;
        uint256 draw = uint256(phi);
        if (literal && total != 0) {
            for (uint256 i; i < dynamicSeats; ++i) {
                uint256 index = Math.mulDiv(total, draw, type(uint256).max);
                if (index >= total) revert LiteralIndexOutOfRange(index, total);
                address node = nodes[_owner(units, index)];
                if (!_contains(members, filled, node)) members[filled++] = node;
                draw = uint256(keccak256(abi.encode(draw)));
            }
        } else if (!literal) {
            uint256 target = Math.min(dynamicSeats, nodes.length);
            while (filled < target) {
                (uint256 index,) = Math.mul512(total, draw);
                uint256 owner = _owner(units, index);
                members[filled++] = nodes[owner];
                total -= units[owner];
                units[owner] = 0;
                draw = uint256(keccak256(abi.encode(draw)));
            }
        }
        for (uint256 i; i < _seeds.length && filled < dynamicSeats; ++i) {
            if (!_contains(members, filled, _seeds[i])) members[filled++] = _seeds[i];
        }
        assembly ("memory-safe") {
            mstore(members, filled)
        }
    }

    // ------------------------------------------------------------------------------------------ rewards

    /// @notice Adds MTC to the round-reward pool (needs an allowance).
    /// @param amount The amount.
    function fundRewards(uint256 amount) external nonReentrant {
        if (amount == 0) revert InvalidAmount();
        rewardPool += amount;
        emit RewardsFunded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Pays a completed round's reward β, split equally over the committee that served it (dust stays
    ///         in the pool). Permissionless; rounds before the installed committee's first round have expired.
    /// @param round The round.
    function rewardRound(uint256 round) external nonReentrant {
        if (round == 0 || round >= currentRound()) revert RoundNotOver(round);
        if (round < committeeSinceRound) revert RoundExpired(round);
        if (roundRewarded[round]) revert AlreadyRewarded(round);
        address[] memory committee = members();
        if (committee.length == 0) revert EmptyCommittee();
        if (rewardPool < roundReward) revert InsufficientRewardPool(rewardPool, roundReward);
        uint256 share = roundReward / committee.length;
        roundRewarded[round] = true;
        rewardPool -= share * committee.length;
        emit RoundRewarded(round, share, committee.length);
        for (uint256 i; i < committee.length; ++i) {
            token.safeTransfer(committee[i], share);
        }
    }

    // ------------------------------------------------------------------------------------------ views

    /// @notice Whether `account` sits on the committee (authorised or dynamic partition).
    /// @param account The address.
    /// @return True for a member.
    function isMember(address account) external view returns (bool) {
        return _authorisedIndex[account] != 0 || _isDynamic(account);
    }

    /// @notice The number of committee members.
    /// @return The count (at most MAX_COMMITTEE).
    function memberCount() external view returns (uint256) {
        return _authorised.length + _dynamic.length;
    }

    /// @notice The committee: the authorised partition, then the dynamic one.
    /// @return all The members.
    function members() public view returns (address[] memory all) {
        all = new address[](_authorised.length + _dynamic.length);
        for (uint256 i; i < _authorised.length; ++i) {
            all[i] = _authorised[i];
        }
        for (uint256 i; i < _dynamic.length; ++i) {
            all[_authorised.length + i] = _dynamic[i];
        }
    }

    /// @notice The authorised partition.
    /// @return The members.
    function authorisedMembers() external view returns (address[] memory) {
        return _authorised;
    }

    /// @notice The dynamic partition.
    /// @return The members.
    function dynamicMembers() external view returns (address[] memory) {
        return _dynamic;
    }

    /// @notice The trusted seed nodes.
    /// @return The list.
    function seedNodes() external view returns (address[] memory) {
        return _seeds;
    }

    /// @notice The registered candidates (registration order).
    /// @return The list.
    function candidates() external view returns (address[] memory) {
        return _candidates;
    }

    /// @notice A node's VRF public key and the block it was set in.
    /// @param account The node.
    /// @return publicKey The key (empty if none).
    /// @return setAt The block.
    function vrfKeyOf(address account) external view returns (bytes memory publicKey, uint256 setAt) {
        return (_vrfKey[account], _vrfKeyBlock[account]);
    }

    /// @notice The current round (1 at deployment; a new one every `roundBlocks` blocks).
    /// @return The round.
    function currentRound() public view returns (uint256) {
        return (block.number - genesisBlock) / roundBlocks + 1;
    }

    /// @notice The term a round belongs to: 0 for the bootstrap rounds 1..W, then k rounds per term.
    /// @param round The round (≥ 1).
    /// @return The term.
    function termOf(uint256 round) public view returns (uint256) {
        if (round <= bootstrapRounds) return 0;
        return (round - bootstrapRounds - 1) / termRounds + 1;
    }

    /// @notice The first round of a term (≥ 1).
    /// @param term The term.
    /// @return The round.
    function termStartRound(uint256 term) public view returns (uint256) {
        if (term == 0) return 1;
        return bootstrapRounds + 1 + (term - 1) * termRounds;
    }

    /// @notice The block whose hash seeds a term's election: the last block before the term's first round.
    /// @param term The term (≥ 1).
    /// @return The block number.
    function anchorBlock(uint256 term) public view returns (uint256) {
        return genesisBlock + (termStartRound(term) - 1) * roundBlocks - 1;
    }

    /// @notice The VRF input of a term: keccak256(chain id, this contract, term, blockhash(anchor)); when the
    ///         anchor is older than 256 blocks, its hash is replaced by the previous election's seed.
    /// @param term The term (its anchor block must be in the past).
    /// @return The seed.
    function electionSeed(uint256 term) public view returns (bytes32) {
        bytes32 anchorHash = blockhash(anchorBlock(term));
        if (anchorHash == bytes32(0)) anchorHash = lastSeed;
        return keccak256(abi.encode(block.chainid, address(this), term, anchorHash));
    }

    /// @notice The leader who proves a term's election: authorised member (term + t) mod |authorised|, where t
    ///         counts the `leaderTimeoutRounds` periods elapsed in the term without an election.
    /// @param term The term.
    /// @return The leader (zero without authorised members).
    function leaderOf(uint256 term) public view returns (address) {
        uint256 count = _authorised.length;
        if (count == 0) return address(0);
        uint256 start = termStartRound(term);
        uint256 round = currentRound();
        uint256 passes = round > start ? (round - start) / leaderTimeoutRounds : 0;
        return _authorised[(term + passes) % count];
    }

    // ------------------------------------------------------------------------------------------ internals

    function _eligible() private view returns (address[] memory nodes, uint256[] memory units, uint256 total) {
        uint256 n = _candidates.length;
        nodes = new address[](n);
        units = new uint256[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            address node = _candidates[i];
            int256 r = reputation.reputationOf(node);
            uint256 u = r > 0 ? uint256(r) / reputationUnit : 0;
            if (u == 0) continue;
            // insertion by address: canonical order for every verifier
            uint256 j = count;
            while (j > 0 && nodes[j - 1] > node) {
                nodes[j] = nodes[j - 1];
                units[j] = units[j - 1];
                --j;
            }
            nodes[j] = node;
            units[j] = u;
            total += u;
            ++count;
        }
        assembly ("memory-safe") {
            mstore(nodes, count)
            mstore(units, count)
        }
    }

    function _owner(uint256[] memory units, uint256 index) private pure returns (uint256) {
        uint256 cumulative;
        for (uint256 i; i < units.length; ++i) {
            cumulative += units[i];
            if (index < cumulative) return i;
        }
        return units.length; // unreachable for index < total
    }

    function _contains(address[] memory list, uint256 length, address account) private pure returns (bool) {
        for (uint256 i; i < length; ++i) {
            if (list[i] == account) return true;
        }
        return false;
    }

    function _isDynamic(address account) private view returns (bool) {
        return _dynamicGeneration[account] == _generation;
    }

    function _isSeed(address account) private view returns (bool) {
        for (uint256 i; i < _seeds.length; ++i) {
            if (_seeds[i] == account) return true;
        }
        return false;
    }

    function _install(address[] memory nodes) private {
        uint256 generation = _generation + 1;
        _generation = generation;
        delete _dynamic;
        for (uint256 i; i < nodes.length; ++i) {
            _dynamic.push(nodes[i]);
            _dynamicGeneration[nodes[i]] = generation;
        }
    }
}
