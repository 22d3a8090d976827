// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {BLS12381} from "../platform/BLS12381.sol";
import {IEnvironmentVerifier} from "./IEnvironmentVerifier.sol";

/// @title MSC: the management smart contract of Meta-BMEOC's off-chain contract environment (seed 000, §IV.B)
/// @notice The on-chain anchor of the OSCTEE enclave pool:
///         1. Enclave registry (B.1): an enclave registers its identity key (the sender, the paper's
///            sk^agg), its BLS key g2^{x_i} with a proof of possession, a *simulated* attestation quote (an
///            ECDSA signature of a test attestation authority over the code measurement and the keys) and
///            a stake in MTC; it becomes legitimate after the block-sync proof π_b (a recent block's height
///            and hash, checked against `blockhash`).
///         2. Environments (B.2): a user asks for `size` enclaves; the seed 𝒮 = H(envId ‖ recent block
///            hash) is fixed on chain; every active enclave may submit its VRF proof, a BLS signature on
///            𝒮 (unique, hence a VRF), verified here; the output is keccak256 of the proof. The `size`
///            smallest outputs form the environment, ascending: Leader, Execution, then Monitoring.
///            The aggregate public key of the members is computed here from their registered keys.
///         3. Contracts (B.3/B.4): `registerContract` assigns id_sc; installation and execution
///            confirmations are same-message BLS aggregates of all members (the corrected Eq. (13):
///            e(σ_agg, g2) = e(H(cnf), Σ pk_i)), one pairing check whatever the environment size.
///         4. Challenge / response / timeout (B.5): an unanswered challenge removes the enclave from its
///            environment and the pool and slashes its stake.
///         5. `IEnvironmentVerifier` for ASC: a digest is signed by an environment when every current member
///            signed `environmentMessage(envId, digest)` (same message, same DST, one pairing check).
/// @dev Sizes are capped (MAX_ACTIVE enclaves in the pool, MAX_ENV_SIZE per environment), so every loop is
///      bounded. See docs/outsourcing-onchain.md for what the simulated attestation does and does not protect.
contract MSC is IEnvironmentVerifier, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Most enclaves in the pool at once (bounds the VRF selection loop).
    uint256 public constant MAX_ACTIVE = 32;
    /// @notice Largest environment.
    uint256 public constant MAX_ENV_SIZE = 16;
    /// @notice Smallest environment: a Leader, an Execution Enclave and one Monitoring Enclave.
    uint256 public constant MIN_ENV_SIZE = 3;
    /// @notice DST of the VRF (a BLS signature on the environment seed).
    bytes public constant DST_VRF = "METATRUST_VRF_BLS12381G1_XMD:SHA-256_SSWU_RO_";
    /// @notice Domain tags of the confirmation messages.
    bytes32 public constant INSTALL_TAG = keccak256("metatrust.msc.install");
    bytes32 public constant EXECUTION_TAG = keccak256("metatrust.msc.execution");
    bytes32 public constant QUOTE_TAG = keccak256("metatrust.msc.quote");
    bytes32 public constant ENVIRONMENT_TAG = keccak256("metatrust.msc.environment");
    /// @notice Length of `verifyEnvironmentSignature`'s `aggregateSignature`: aggregate key (G2) ‖ σ (G1).
    uint256 public constant ENVIRONMENT_SIGNATURE_LENGTH = 384;

    enum EnclaveStatus {
        None,
        Registered, // keys, PoP and quote checked; waiting for the block-sync proof π_b
        Active, // legitimate: may be selected into environments
        Removed, // removed after an unanswered challenge (never again)
        Left // left voluntarily, stake returned
    }

    enum EnvStatus {
        None,
        Selecting, // collecting VRF proofs
        Live, // members and roles fixed
        Dissolved // fell below MIN_ENV_SIZE
    }

    enum ScStatus {
        None,
        Registered,
        Installed
    }

    struct Enclave {
        EnclaveStatus status;
        uint64 registeredBlock;
        uint32 liveEnvironments; // environments (Selecting or Live) it takes part in
        uint256 stake;
        bytes blsKey; // G2, EIP-2537 (256 bytes)
    }

    struct Environment {
        // slot 0: what a confirmation reads
        address leader;
        EnvStatus status;
        uint8 size;
        uint8 memberCount;
        uint64 vrfDeadline; // block number
        // slot 1: the one slot confirmInstall / confirmExecution read (zero unless Live)
        bytes32 leaderKeyHash; // keccak256(aggregateKey ‖ leader): aggregate key and Leader in one check
        // slot 2: the one slot verifyEnvironmentSignature reads (zero unless Live)
        bytes32 aggregateKeyHash; // keccak256 of the members' aggregate BLS key
        address creator;
        bytes32 seed;
        address[] candidates; // enclaves that submitted a valid VRF proof
        address[] members; // ascending VRF output: Leader, Execution, Monitoring...
        bytes aggregateKey;
    }

    /// @dev The cold record of a contract (views, and the state root). Its hot state is `_scState`.
    struct SmartContract {
        bytes32 codeHash;
        address owner;
        bytes32 stateRoot;
    }

    struct Challenge {
        address challenger;
        address target;
        uint64 envId;
        uint64 deadline; // block number
        bool resolved;
        bytes32 requestHash;
    }

    IERC20 public immutable token;
    /// @notice The (test) attestation authority whose ECDSA signature makes a quote valid.
    address public immutable attestationKey;
    /// @notice The code measurement every enclave must run.
    bytes32 public immutable measurement;
    /// @notice Receives slashed stake (the incentive pool).
    address public immutable slashRecipient;
    uint256 public immutable minStake;
    /// @notice Share of the stake slashed on an unanswered challenge, in basis points.
    uint256 public immutable slashBps;
    /// @notice Blocks an enclave has to answer a challenge.
    uint64 public immutable responseWindow;
    /// @notice Blocks during which VRF proofs are collected.
    uint64 public immutable vrfWindow;

    mapping(address => Enclave) private _enclaves;
    address[] private _active;
    mapping(address => uint256) private _activeIndex; // index + 1

    uint64 public environmentCount;
    mapping(uint256 => Environment) private _environments;
    mapping(uint256 => mapping(address => uint256)) private _vrfOutput; // output + 0 means none (see _vrfSeen)
    mapping(uint256 => mapping(address => bool)) private _vrfSeen;
    mapping(uint256 => mapping(address => bool)) public isMember;

    uint64 public contractCount;
    mapping(uint256 => SmartContract) private _contracts;
    /// @dev One word per contract, the only contract slot a confirmation reads and writes: the code hash while
    ///      Registered (≥ 2^128: `registerContract` refuses smaller hashes), `envId | seq << 64` once Installed
    ///      (< 2^128, envId ≥ 1), zero when unknown. So confirmInstall gets status and code hash in one cold read
    ///      and records the installation in the same, then warm, slot.
    mapping(uint256 => uint256) private _scState;

    uint64 public challengeCount;
    mapping(uint256 => Challenge) private _challenges;
    mapping(address => uint256) public openChallenges; // per target

    error InvalidParameter();
    error AlreadyRegistered(address enclave);
    error InvalidBlsKey();
    error InvalidProofOfPossession();
    error WrongMeasurement(bytes32 measurement);
    error InvalidAttestationQuote();
    error StakeTooLow(uint256 stake, uint256 minimum);
    error NotRegistered(address enclave);
    error NotActive(address enclave);
    error StaleBlock(uint256 height);
    error WrongBlockHash(uint256 height, bytes32 blockHash);
    error PoolFull();
    error InvalidEnvironmentSize(uint256 size);
    error NotEnoughEnclaves(uint256 available, uint256 size);
    error UnknownEnvironment(uint256 envId);
    error WrongEnvironmentStatus(uint256 envId, EnvStatus status);
    error VrfAlreadySubmitted(uint256 envId, address enclave);
    error VrfWindowClosed(uint256 envId);
    error InvalidVrfProof(uint256 envId, address enclave);
    error SelectionNotReady(uint256 envId);
    error UnknownContract(uint256 idSc);
    error WrongContractStatus(uint256 idSc, ScStatus status);
    error NotLeader(address caller);
    error WrongAggregateKey();
    error InvalidAggregateSignature();
    error WrongSequence(uint64 expected, uint64 given);
    error NotMember(uint256 envId, address enclave);
    error NotAuthorisedChallenger(address caller);
    error UnknownChallenge(uint256 challengeId);
    error ChallengeResolved(uint256 challengeId);
    error NotChallenged(address caller);
    error ResponseWindowClosed(uint256 challengeId);
    error ResponseWindowOpen(uint256 challengeId);
    error StillBusy(address enclave);

    event EnclaveRegistered(address indexed enclave, bytes blsKey, bytes32 measurement, uint256 stake);
    event EnclaveActivated(address indexed enclave, uint256 height, bytes32 blockHash);
    event EnclaveLeft(address indexed enclave, uint256 stakeReturned);
    event EnvironmentRequested(uint256 indexed envId, address indexed creator, uint256 size, bytes32 seed);
    event VrfSubmitted(uint256 indexed envId, address indexed enclave, uint256 output);
    event EnvironmentCreated(
        uint256 indexed envId, address leader, address executor, address[] monitors, bytes aggregateKey
    );
    event ContractRegistered(uint256 indexed idSc, address indexed owner, bytes32 codeHash);
    event ContractInstalled(uint256 indexed idSc, uint256 envId);
    event StateSynced(uint256 indexed idSc, uint64 seq, bytes32 stateRoot);
    event ChallengeOpened(
        uint256 indexed challengeId, uint256 indexed envId, address indexed target, address challenger, bytes32 requestHash
    );
    event ChallengeAnswered(uint256 indexed challengeId, bytes32 responseHash);
    event EnclaveRemoved(uint256 indexed challengeId, address indexed enclave, uint256 penalty);
    event EnvironmentChanged(uint256 indexed envId, address[] members, bytes aggregateKey);
    event EnvironmentDissolved(uint256 indexed envId);

    /// @param token_ MetaCoin (MTC), the staking token.
    /// @param attestationKey_ Address of the test attestation authority (simulated TEE quotes).
    /// @param measurement_ The code measurement enclaves must attest to.
    /// @param slashRecipient_ Receives slashed stake.
    /// @param minStake_ Minimum enclave stake.
    /// @param slashBps_ Share of the stake slashed on an unanswered challenge (basis points, ≤ 10,000).
    /// @param responseWindow_ Blocks to answer a challenge (> 0).
    /// @param vrfWindow_ Blocks to submit VRF proofs (> 0).
    constructor(
        IERC20 token_,
        address attestationKey_,
        bytes32 measurement_,
        address slashRecipient_,
        uint256 minStake_,
        uint256 slashBps_,
        uint64 responseWindow_,
        uint64 vrfWindow_
    ) {
        if (
            address(token_) == address(0) || attestationKey_ == address(0) || slashRecipient_ == address(0)
                || slashBps_ > 10_000 || responseWindow_ == 0 || vrfWindow_ == 0
        ) revert InvalidParameter();
        token = token_;
        attestationKey = attestationKey_;
        measurement = measurement_;
        slashRecipient = slashRecipient_;
        minStake = minStake_;
        slashBps = slashBps_;
        responseWindow = responseWindow_;
        vrfWindow = vrfWindow_;
    }

    // -------------------------------------------------------------------------------- enclave registry

    /// @notice The digest the attestation authority signs (EIP-191) for a quote.
    function quoteDigest(address enclave, bytes32 codeMeasurement, bytes calldata blsKey)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(QUOTE_TAG, block.chainid, address(this), enclave, codeMeasurement, keccak256(blsKey)));
    }

    /// @notice Registers the sender as an enclave (B.1 steps 2-4). Pulls `stake` MTC (approve first).
    /// @param blsKey The BLS public key g2^{x_i}, EIP-2537 G2 (256 bytes).
    /// @param pop Proof of possession of the BLS key (a G1 signature on `blsKey` under DST_POP).
    /// @param codeMeasurement The measurement of the code the enclave runs (must equal `measurement`).
    /// @param quote The simulated attestation quote: the authority's signature over `quoteDigest`.
    /// @param stake MTC staked (≥ minStake).
    function registerEnclave(
        bytes calldata blsKey,
        bytes calldata pop,
        bytes32 codeMeasurement,
        bytes calldata quote,
        uint256 stake
    ) external nonReentrant {
        Enclave storage enclave = _enclaves[msg.sender];
        if (enclave.status != EnclaveStatus.None) revert AlreadyRegistered(msg.sender);
        if (blsKey.length != BLS12381.G2_LENGTH || BLS12381.isInfinity(blsKey)) revert InvalidBlsKey();
        if (codeMeasurement != measurement) revert WrongMeasurement(codeMeasurement);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(quoteDigest(msg.sender, codeMeasurement, blsKey)), quote);
        if (err != ECDSA.RecoverError.NoError || signer != attestationKey) revert InvalidAttestationQuote();
        if (stake < minStake) revert StakeTooLow(stake, minStake);
        if (!BLS12381.verifyPop(blsKey, pop)) revert InvalidProofOfPossession();
        enclave.status = EnclaveStatus.Registered;
        enclave.registeredBlock = uint64(block.number);
        enclave.stake = stake;
        enclave.blsKey = blsKey;
        emit EnclaveRegistered(msg.sender, blsKey, codeMeasurement, stake);
        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice The block-sync proof π_b (B.1 step 5): the enclave returns the height and hash of a block at
    ///         or after its registration, within the last 256 blocks; it then joins the legitimate pool.
    /// @param height A block number ≥ the registration block and < the current block.
    /// @param blockHash That block's hash, as the enclave verified it.
    function confirmSync(uint256 height, bytes32 blockHash) external {
        Enclave storage enclave = _enclaves[msg.sender];
        if (enclave.status != EnclaveStatus.Registered) revert NotRegistered(msg.sender);
        if (height < enclave.registeredBlock || height >= block.number || block.number - height > 256) {
            revert StaleBlock(height);
        }
        if (blockhash(height) != blockHash) revert WrongBlockHash(height, blockHash);
        if (_active.length >= MAX_ACTIVE) revert PoolFull();
        enclave.status = EnclaveStatus.Active;
        _active.push(msg.sender);
        _activeIndex[msg.sender] = _active.length;
        emit EnclaveActivated(msg.sender, height, blockHash);
    }

    /// @notice Leaves the pool and takes the stake back; only when in no live environment and unchallenged.
    function leave() external nonReentrant {
        Enclave storage enclave = _enclaves[msg.sender];
        if (enclave.status != EnclaveStatus.Active && enclave.status != EnclaveStatus.Registered) {
            revert NotRegistered(msg.sender);
        }
        if (enclave.liveEnvironments != 0 || openChallenges[msg.sender] != 0) revert StillBusy(msg.sender);
        if (enclave.status == EnclaveStatus.Active) _removeActive(msg.sender);
        uint256 stake = enclave.stake;
        enclave.status = EnclaveStatus.Left;
        enclave.stake = 0;
        emit EnclaveLeft(msg.sender, stake);
        token.safeTransfer(msg.sender, stake);
    }

    // -------------------------------------------------------------------------------- environments

    /// @notice Asks for an environment of `size` enclaves (B.2 step 1). The seed is H(envId ‖ the previous
    ///         block's hash ‖ this contract ‖ chain id), fixed now, so no enclave can grind it.
    /// @param size Number of enclaves (MIN_ENV_SIZE..MAX_ENV_SIZE, at most the active pool).
    /// @return envId The new environment's id.
    function createEnvironment(uint256 size) external returns (uint256 envId) {
        if (size < MIN_ENV_SIZE || size > MAX_ENV_SIZE) revert InvalidEnvironmentSize(size);
        if (size > _active.length) revert NotEnoughEnclaves(_active.length, size);
        envId = ++environmentCount;
        Environment storage env = _environments[envId];
        bytes32 seed = keccak256(abi.encode(envId, blockhash(block.number - 1), address(this), block.chainid));
        env.status = EnvStatus.Selecting;
        env.size = uint8(size);
        env.vrfDeadline = uint64(block.number) + vrfWindow;
        env.creator = msg.sender;
        env.seed = seed;
        emit EnvironmentRequested(envId, msg.sender, size, seed);
    }

    /// @notice Submits the sender's VRF proof for an environment (B.2 steps 2-3): a BLS signature on the
    ///         seed under DST_VRF, checked here with the sender's registered key; output = keccak256(proof).
    /// @param envId The environment.
    /// @param proof The G1 signature on the seed (128 bytes).
    function submitVrf(uint256 envId, bytes calldata proof) external {
        Environment storage env = _environments[envId];
        if (env.status != EnvStatus.Selecting) revert WrongEnvironmentStatus(envId, env.status);
        if (block.number > env.vrfDeadline) revert VrfWindowClosed(envId);
        Enclave storage enclave = _enclaves[msg.sender];
        if (enclave.status != EnclaveStatus.Active) revert NotActive(msg.sender);
        if (_vrfSeen[envId][msg.sender]) revert VrfAlreadySubmitted(envId, msg.sender);
        if (!BLS12381.verify(enclave.blsKey, abi.encodePacked(env.seed), DST_VRF, proof)) {
            revert InvalidVrfProof(envId, msg.sender);
        }
        uint256 output = uint256(keccak256(proof));
        _vrfSeen[envId][msg.sender] = true;
        _vrfOutput[envId][msg.sender] = output;
        env.candidates.push(msg.sender);
        emit VrfSubmitted(envId, msg.sender, output);
    }

    /// @notice Fixes the environment (B.2 steps 4-5): the `size` smallest VRF outputs (ties: lower
    ///         address) in ascending order; Leader = 1st, Execution = 2nd, Monitoring = the rest. Callable
    ///         once every active enclave has submitted, or after the VRF window with enough candidates.
    ///         Candidates removed from the pool in the meantime are skipped.
    /// @param envId The environment.
    function finalizeEnvironment(uint256 envId) external {
        Environment storage env = _environments[envId];
        if (env.status != EnvStatus.Selecting) revert WrongEnvironmentStatus(envId, env.status);
        address[] memory pool = _liveCandidates(env.candidates);
        uint256 size = env.size;
        if (pool.length < size || (block.number <= env.vrfDeadline && env.candidates.length < _active.length)) {
            revert SelectionNotReady(envId);
        }
        uint256[] memory outputs = new uint256[](pool.length);
        for (uint256 i = 0; i < pool.length; ++i) {
            outputs[i] = _vrfOutput[envId][pool[i]];
        }
        // partial selection sort: the `size` smallest (output, address) pairs, ascending
        for (uint256 i = 0; i < size; ++i) {
            uint256 best = i;
            for (uint256 j = i + 1; j < pool.length; ++j) {
                if (outputs[j] < outputs[best] || (outputs[j] == outputs[best] && pool[j] < pool[best])) best = j;
            }
            (outputs[i], outputs[best]) = (outputs[best], outputs[i]);
            (pool[i], pool[best]) = (pool[best], pool[i]);
            env.members.push(pool[i]);
            isMember[envId][pool[i]] = true;
            _enclaves[pool[i]].liveEnvironments += 1;
        }
        env.status = EnvStatus.Live;
        _refreshAggregate(env);
        address[] memory monitors = new address[](size - 2);
        for (uint256 i = 2; i < size; ++i) {
            monitors[i - 2] = pool[i];
        }
        emit EnvironmentCreated(envId, pool[0], pool[1], monitors, env.aggregateKey);
    }

    // -------------------------------------------------------------------------------- contracts

    /// @notice Registers an off-chain smart contract program by its code hash (B.3 step 1).
    /// @param codeHash Hash of the program SC.
    /// @return idSc The contract's id.
    ///      A code hash below 2^128 is refused (`InvalidParameter`): a keccak-256 hash is that small with
    ///      probability 2^-128, and the bound lets one storage word hold either the code hash or the
    ///      installation record (`_scState`).
    function registerContract(bytes32 codeHash) external returns (uint256 idSc) {
        if (uint256(codeHash) >> 128 == 0) revert InvalidParameter();
        idSc = ++contractCount;
        SmartContract storage sc = _contracts[idSc];
        sc.codeHash = codeHash;
        sc.owner = msg.sender;
        _scState[idSc] = uint256(codeHash);
        emit ContractRegistered(idSc, msg.sender, codeHash);
    }

    /// @notice The message every member signs to confirm installing `idSc` in `envId`.
    function installMessage(uint256 idSc, uint256 envId) public view returns (bytes memory) {
        return abi.encode(INSTALL_TAG, block.chainid, address(this), envId, idSc, _contracts[idSc].codeHash);
    }

    /// @notice The message every member signs to confirm execution step `seq` of `idSc` with `stateRoot`.
    function executionMessage(uint256 idSc, uint256 envId, uint64 seq, bytes32 stateRoot)
        public
        view
        returns (bytes memory)
    {
        return abi.encode(EXECUTION_TAG, block.chainid, address(this), envId, idSc, seq, stateRoot);
    }

    /// @notice The Leader confirms that every member of `envId` installed `idSc` (B.3 steps 5-6, corrected
    ///         Eq. (13)): one pairing check of the aggregate signature under the aggregate key.
    /// @param idSc The registered contract.
    /// @param envId The live environment.
    /// @param aggregateKey The environment's aggregate key (as stored at creation; checked by hash).
    /// @param aggregateSignature The sum of all members' signatures on `installMessage(idSc, envId)`.
    function confirmInstall(
        uint256 idSc,
        uint256 envId,
        bytes calldata aggregateKey,
        bytes calldata aggregateSignature
    ) external {
        uint256 state = _scState[idSc];
        if (state >> 128 == 0) revert WrongContractStatus(idSc, _scStatus(state));
        _checkLeaderSignature(
            envId, aggregateKey, abi.encode(INSTALL_TAG, block.chainid, address(this), envId, idSc, state), aggregateSignature
        );
        _scState[idSc] = envId; // Installed, seq 0 (envId < 2^64: a live environment's id)
        emit ContractInstalled(idSc, envId);
    }

    /// @notice The Leader synchronises a confirmed execution step (B.4): the state root the Execution and
    ///         Monitoring Enclaves agreed on, signed by every member of the contract's environment.
    /// @param idSc The installed contract.
    /// @param seq The next sequence number (previous + 1).
    /// @param stateRoot The new state root.
    /// @param aggregateKey The environment's aggregate key (checked by hash).
    /// @param aggregateSignature The sum of all members' signatures on `executionMessage`.
    function confirmExecution(
        uint256 idSc,
        uint64 seq,
        bytes32 stateRoot,
        bytes calldata aggregateKey,
        bytes calldata aggregateSignature
    ) external {
        uint256 state = _scState[idSc];
        if (state == 0 || state >> 128 != 0) revert WrongContractStatus(idSc, _scStatus(state));
        uint256 envId = uint64(state);
        uint64 expected = uint64(state >> 64) + 1;
        if (seq != expected) revert WrongSequence(expected, seq);
        _checkLeaderSignature(
            envId, aggregateKey, executionMessage(idSc, envId, seq, stateRoot), aggregateSignature
        );
        _scState[idSc] = envId | (uint256(seq) << 64);
        _contracts[idSc].stateRoot = stateRoot;
        emit StateSynced(idSc, seq, stateRoot);
    }

    /// @notice The message every member of `envId` signs so that ASC accepts `messageHash` (an anchor,
    ///         settlement or voucher digest) as signed by the environment.
    /// @param envId The environment (ASC's `environmentId` is `bytes32(envId)`).
    /// @param messageHash The 32-byte digest.
    function environmentMessage(uint256 envId, bytes32 messageHash) public view returns (bytes memory) {
        return abi.encode(ENVIRONMENT_TAG, block.chainid, address(this), envId, messageHash);
    }

    /// @inheritdoc IEnvironmentVerifier
    /// @dev `envId` is `bytes32(uint256(mscEnvId))`; `aggregateSignature` is the environment's current
    ///      aggregate key (256 bytes, EIP-2537 G2) followed by σ (128 bytes, EIP-2537 G1), 384 bytes. True only
    ///      for a live environment whose stored aggregate-key hash matches and when e(σ, g2) = e(H(m), key)
    ///      with m = `environmentMessage(envId, messageHash)` under the message DST. Never reverts on bad
    ///      input (unknown, selecting or dissolved environment, wrong length, wrong key, malformed points).
    function verifyEnvironmentSignature(bytes32 envId, bytes32 messageHash, bytes calldata aggregateSignature)
        external
        view
        returns (bool valid)
    {
        if (aggregateSignature.length != ENVIRONMENT_SIGNATURE_LENGTH) return false;
        bytes32 keyHash = _environments[uint256(envId)].aggregateKeyHash; // zero unless Live
        bytes calldata aggregateKey = aggregateSignature[:BLS12381.G2_LENGTH];
        if (keyHash == 0 || keccak256(aggregateKey) != keyHash) return false;
        return BLS12381.verifyCalldata(
            aggregateKey,
            environmentMessage(uint256(envId), messageHash),
            BLS12381.DST_SIG,
            aggregateSignature[BLS12381.G2_LENGTH:]
        );
    }

    /// @dev The Leader's confirmation: one cold read (`leaderKeyHash`, zero unless Live) checks that the
    ///      environment is live, that the sender is its Leader and that `aggregateKey` is its aggregate key, all
    ///      at once; then one pairing check. The failure path re-reads the record to name the error.
    function _checkLeaderSignature(
        uint256 envId,
        bytes calldata aggregateKey,
        bytes memory message,
        bytes calldata aggregateSignature
    ) private view {
        bytes32 expected = _environments[envId].leaderKeyHash;
        bytes32 given;
        assembly ("memory-safe") {
            let buf := mload(0x40) // scratch past the free-memory pointer: keccak256(aggregateKey ‖ caller)
            calldatacopy(buf, aggregateKey.offset, aggregateKey.length)
            mstore(add(buf, aggregateKey.length), shl(96, caller()))
            given := keccak256(buf, add(aggregateKey.length, 20))
        }
        if (expected == 0 || given != expected) _revertEnvironmentCheck(envId, aggregateKey);
        if (!BLS12381.verifyCalldata(aggregateKey, message, BLS12381.DST_SIG, aggregateSignature)) {
            revert InvalidAggregateSignature();
        }
    }

    /// @dev Names why `_checkLeaderSignature`'s combined check failed.
    function _revertEnvironmentCheck(uint256 envId, bytes calldata aggregateKey) private view {
        Environment storage env = _environments[envId];
        if (env.status != EnvStatus.Live) revert WrongEnvironmentStatus(envId, env.status);
        if (msg.sender != env.leader) revert NotLeader(msg.sender);
        if (keccak256(aggregateKey) != env.aggregateKeyHash) revert WrongAggregateKey();
        revert WrongAggregateKey(); // unreachable: the combined hash matched a live environment's
    }

    /// @dev The status encoded in a `_scState` word.
    function _scStatus(uint256 state) private pure returns (ScStatus) {
        if (state == 0) return ScStatus.None;
        return state >> 128 != 0 ? ScStatus.Registered : ScStatus.Installed;
    }

    // -------------------------------------------------------------------------------- challenges

    /// @notice Opens a challenge against a member of a live environment that did not answer (B.5). The
    ///         challenger is the environment's creator or one of its members.
    /// @param envId The environment.
    /// @param target The member challenged.
    /// @param requestHash Hash of the request left unanswered.
    /// @return challengeId The challenge's id.
    function challenge(uint256 envId, address target, bytes32 requestHash) external returns (uint256 challengeId) {
        Environment storage env = _environments[envId];
        if (env.status != EnvStatus.Live) revert WrongEnvironmentStatus(envId, env.status);
        if (msg.sender != env.creator && !isMember[envId][msg.sender]) revert NotAuthorisedChallenger(msg.sender);
        if (!isMember[envId][target]) revert NotMember(envId, target);
        challengeId = ++challengeCount;
        uint64 deadline = uint64(block.number) + responseWindow;
        _challenges[challengeId] = Challenge(msg.sender, target, uint64(envId), deadline, false, requestHash);
        openChallenges[target] += 1;
        emit ChallengeOpened(challengeId, envId, target, msg.sender, requestHash);
    }

    /// @notice The challenged enclave answers in time (its identity key signs the transaction).
    /// @param challengeId The challenge.
    /// @param responseHash Hash of the response it delivered off chain.
    function respond(uint256 challengeId, bytes32 responseHash) external {
        Challenge storage c = _challenges[challengeId];
        if (c.target == address(0)) revert UnknownChallenge(challengeId);
        if (c.resolved) revert ChallengeResolved(challengeId);
        if (msg.sender != c.target) revert NotChallenged(msg.sender);
        if (block.number > c.deadline) revert ResponseWindowClosed(challengeId);
        c.resolved = true;
        openChallenges[c.target] -= 1;
        emit ChallengeAnswered(challengeId, responseHash);
    }

    /// @notice After the response window, removes the unresponsive enclave from its environment and from the
    ///         pool and slashes `slashBps` of its stake to `slashRecipient`. Anyone may call.
    /// @param challengeId The challenge.
    function timeoutChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage c = _challenges[challengeId];
        if (c.target == address(0)) revert UnknownChallenge(challengeId);
        if (c.resolved) revert ChallengeResolved(challengeId);
        if (block.number <= c.deadline) revert ResponseWindowOpen(challengeId);
        c.resolved = true;
        address target = c.target;
        openChallenges[target] -= 1;
        Enclave storage enclave = _enclaves[target];
        uint256 penalty = 0;
        if (enclave.status == EnclaveStatus.Active) {
            _removeActive(target);
            enclave.status = EnclaveStatus.Removed;
            penalty = (enclave.stake * slashBps) / 10_000;
            enclave.stake -= penalty;
        }
        uint256 envId = c.envId;
        if (isMember[envId][target] && _environments[envId].status == EnvStatus.Live) _removeMember(envId, target);
        emit EnclaveRemoved(challengeId, target, penalty);
        if (penalty != 0) token.safeTransfer(slashRecipient, penalty);
    }

    /// @notice A removed enclave takes back what is left of its stake once it has no open challenge and is in
    ///         no live environment (where it can still be challenged and slashed).
    function withdrawRemaining() external nonReentrant {
        Enclave storage enclave = _enclaves[msg.sender];
        if (enclave.status != EnclaveStatus.Removed) revert NotRegistered(msg.sender);
        if (openChallenges[msg.sender] != 0 || enclave.liveEnvironments != 0) revert StillBusy(msg.sender);
        uint256 stake = enclave.stake;
        enclave.stake = 0;
        enclave.status = EnclaveStatus.Left;
        emit EnclaveLeft(msg.sender, stake);
        token.safeTransfer(msg.sender, stake);
    }

    // -------------------------------------------------------------------------------- views

    /// @notice An enclave's record.
    function enclaveInfo(address enclave)
        external
        view
        returns (EnclaveStatus status, uint64 registeredBlock, uint32 liveEnvironments, uint256 stake, bytes memory blsKey)
    {
        Enclave storage e = _enclaves[enclave];
        return (e.status, e.registeredBlock, e.liveEnvironments, e.stake, e.blsKey);
    }

    /// @notice The legitimate (active) enclaves.
    function activeEnclaves() external view returns (address[] memory) {
        return _active;
    }

    /// @notice An environment's record; `members` are in ascending VRF order (Leader, Execution, Monitoring).
    function environmentInfo(uint256 envId)
        external
        view
        returns (
            EnvStatus status,
            address creator,
            uint256 size,
            bytes32 seed,
            uint64 vrfDeadline,
            address[] memory candidates,
            address[] memory members,
            bytes memory aggregateKey
        )
    {
        Environment storage env = _environments[envId];
        return (env.status, env.creator, env.size, env.seed, env.vrfDeadline, env.candidates, env.members, env.aggregateKey);
    }

    /// @notice The VRF output of `enclave` for `envId` (0 and false when none was submitted).
    function vrfOutput(uint256 envId, address enclave) external view returns (uint256 output, bool submitted) {
        return (_vrfOutput[envId][enclave], _vrfSeen[envId][enclave]);
    }

    /// @notice A registered contract's record.
    function contractInfo(uint256 idSc)
        external
        view
        returns (ScStatus status, bytes32 codeHash, address owner, uint64 envId, uint64 seq, bytes32 stateRoot)
    {
        SmartContract storage sc = _contracts[idSc];
        uint256 state = _scState[idSc];
        status = _scStatus(state);
        if (status == ScStatus.Installed) (envId, seq) = (uint64(state), uint64(state >> 64));
        return (status, sc.codeHash, sc.owner, envId, seq, sc.stateRoot);
    }

    /// @notice A challenge's record.
    function challengeInfo(uint256 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    // -------------------------------------------------------------------------------- internals

    function _liveCandidates(address[] storage candidates) private view returns (address[] memory pool) {
        pool = new address[](candidates.length);
        uint256 n = 0;
        for (uint256 i = 0; i < candidates.length; ++i) {
            if (_enclaves[candidates[i]].status == EnclaveStatus.Active) pool[n++] = candidates[i];
        }
        assembly ("memory-safe") {
            mstore(pool, n)
        }
    }

    function _removeActive(address enclave) private {
        uint256 index = _activeIndex[enclave];
        uint256 last = _active.length;
        if (index != last) {
            address moved = _active[last - 1];
            _active[index - 1] = moved;
            _activeIndex[moved] = index;
        }
        _active.pop();
        delete _activeIndex[enclave];
    }

    /// @dev Removes `target` from a live environment, keeping the others' VRF order (so the roles shift up);
    ///      dissolves the environment when it falls below MIN_ENV_SIZE.
    function _removeMember(uint256 envId, address target) private {
        Environment storage env = _environments[envId];
        address[] storage members = env.members;
        uint256 n = members.length;
        bool found = false;
        for (uint256 i = 0; i < n; ++i) {
            if (found) members[i - 1] = members[i];
            else if (members[i] == target) found = true;
        }
        members.pop();
        isMember[envId][target] = false;
        _enclaves[target].liveEnvironments -= 1;
        if (members.length < MIN_ENV_SIZE) {
            env.status = EnvStatus.Dissolved;
            env.leaderKeyHash = 0;
            env.aggregateKeyHash = 0;
            for (uint256 i = 0; i < members.length; ++i) {
                _enclaves[members[i]].liveEnvironments -= 1;
                isMember[envId][members[i]] = false;
            }
            emit EnvironmentDissolved(envId);
            return;
        }
        _refreshAggregate(env);
        emit EnvironmentChanged(envId, members, env.aggregateKey);
    }

    /// @dev Recomputes the aggregate key Σ pk_i of the members from their registered keys (G2 additions).
    function _refreshAggregate(Environment storage env) private {
        address[] storage members = env.members;
        bytes memory sum = _enclaves[members[0]].blsKey;
        for (uint256 i = 1; i < members.length; ++i) {
            sum = BLS12381.g2Add(sum, _enclaves[members[i]].blsKey);
        }
        env.leader = members[0];
        env.memberCount = uint8(members.length);
        env.aggregateKey = sum;
        env.aggregateKeyHash = keccak256(sum);
        env.leaderKeyHash = keccak256(abi.encodePacked(sum, members[0]));
    }
}
