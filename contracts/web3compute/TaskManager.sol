// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ActorRoles} from "../platform/ActorRoles.sol";
import {RSC} from "../platform/RSC.sol";
import {ITaskRoster} from "./ITaskRoster.sol";

/// @title TaskManager: the task scheduling contract of seed 004, with the task's sandbox key registry
/// @notice The paper names a "task scheduling contract" that "sends requests to the selected computing and
///         storage servers to let them execute the computing task cooperatively", and says the sandbox public
///         key "is uploaded to the blockchain" and "becomes invalid" when the sandbox is destroyed; it
///         specifies neither. Design (spec 004 §2.4, §2.13, §3.2.6, §3.2.7, R3, R4):
///         - a Web3 user creates a task with requirements (program hash, data type and digest, minimum CPU
///           cores, bandwidth and storage, number of computing and storage servers, topology, deadlines);
///         - the user schedules it on servers registered in RSC; the contract checks every server's role,
///           status and resources and that no computing server is busy with another task (the selection
///           rule itself, §3.2.7, runs off chain in `offchain.web3compute.tasks`: the contract verifies,
///           it does not search, so no call loops over the registry);
///         - every selected server accepts before the acceptance deadline (or declines, which sends the
///           task back to be scheduled again);
///         - the sandbox public key is stored only with an EIP-712 signature of every assigned computing
///           server, and is invalidated on destruction, completion or failure;
///         - the global node submits the result hash, the service provider completes the task;
///         - anyone fails a task whose deadline passed.
///         TaskManager is also the channel roster of StateChannelManager (`mayOpenChannel`).
contract TaskManager is EIP712, ITaskRoster {
    /// @notice Interaction topology of the computing servers (which pairs open state channels).
    enum Topology {
        Star, // global node <-> every local node (federated learning), n - 1 channels
        Full // every pair
    }

    enum Status {
        None,
        Created, // requirements recorded, no servers yet (also after a decline)
        Scheduled, // servers selected, waiting for every acceptance
        Accepted, // every server accepted: channels may open, the sandbox may be created
        SandboxReady, // sandbox key registered with every computing server's signature
        ResultSubmitted, // the global node submitted the result hash
        Completed, // the service provider confirmed the result
        Failed // deadline passed, or the user or the service provider gave up
    }

    /// @notice What the user asks for (spec 004 §2.4 step 1).
    struct Requirements {
        address serviceProvider; // designed the task; receives the result
        bytes32 programHash; // the only program the sandboxes may run
        bytes32 dataType; // label of the required data type
        bytes32 dataDigest; // commitment to the user's data set (0: none)
        uint32 minCpuCores; // of each computing server
        uint32 minBandwidthMbps; // of each computing server
        uint32 minStorageGiB; // of each storage server
        uint8 computeNodes; // number of computing servers (the first is the global node)
        uint8 storageNodes; // number of storage servers
        Topology topology;
        uint32 acceptWindow; // seconds the servers have to accept after scheduling
        uint32 duration; // seconds from the last acceptance to the completion deadline
    }

    struct Task {
        // slot 0: everything `mayOpenChannel` (called by every channel `open`) needs but the membership
        address globalNode;
        Status status;
        Topology topology; // copy of requirements.topology
        uint8 accepted; // servers that accepted so far
        uint40 deadline; // Scheduled: acceptance deadline; Accepted..ResultSubmitted: completion deadline
        bool keyValid;
        address user;
        address sandboxSigner; // the sandbox's signing address (result signatures)
        bytes32 resultHash;
        bytes sandboxKey; // compressed secp256k1 encryption key of the sandbox (33 bytes)
        Requirements requirements;
        address[] computeServers;
        address[] storageServers;
    }

    /// @notice Most computing or storage servers a task may have (bounds every loop).
    uint256 public constant MAX_NODES = 16;
    /// @notice Longest acceptance window and task duration (30 days).
    uint256 public constant MAX_WINDOW = 30 days;
    bytes32 public constant SANDBOX_KEY_TYPEHASH =
        keccak256("SandboxKey(bytes32 taskId,bytes32 keyHash,address signer,bytes32 programHash)");

    /// @notice Role bits of the registry (ActorRoles).
    uint64 private constant USER = ActorRoles.WEB3_USER;
    uint64 private constant PROVIDER = ActorRoles.SERVICE_PROVIDER;
    uint64 private constant COMPUTE = ActorRoles.COMPUTE_SERVER;
    uint64 private constant STORAGE = ActorRoles.STORAGE_SERVER;

    /// @notice The registry every actor is registered in.
    RSC public immutable registry;
    /// @notice Number of tasks created so far (task ids are 1, 2, ...).
    uint256 public taskCount;

    mapping(bytes32 taskId => Task) private _tasks;
    /// @dev 1 + index in computeServers (compute) or 0x100 + index (storage); 0: not assigned.
    mapping(bytes32 taskId => mapping(address server => uint256 slot)) private _slots;
    /// @dev Bit per server position: accepted.
    mapping(bytes32 taskId => uint256 bitmap) private _acceptedBits;
    /// @notice The task a computing server is busy with (0: free).
    mapping(address server => bytes32 taskId) public busyWith;

    error ZeroAddress();
    error MissingRole(address account, uint64 roles);
    error InvalidRequirements(string reason);
    error UnknownTask(bytes32 taskId);
    error WrongStatus(bytes32 taskId, Status status);
    error NotTaskUser(bytes32 taskId, address caller);
    error NotServiceProvider(bytes32 taskId, address caller);
    error NotAssigned(bytes32 taskId, address caller);
    error NotGlobalNode(bytes32 taskId, address caller);
    error ServerCountMismatch(uint256 compute, uint256 storage_);
    error DuplicateServer(address server);
    error IneligibleServer(address server, string reason);
    error ServerBusy(address server, bytes32 taskId);
    error AlreadyAccepted(bytes32 taskId, address server);
    error DeadlinePassed(bytes32 taskId, uint256 deadline);
    error DeadlineNotReached(bytes32 taskId, uint256 deadline);
    error InvalidSandboxKey();
    error SignatureCountMismatch(uint256 given, uint256 expected);
    error MissingCoSignature(bytes32 taskId, address server);
    error SandboxKeyInvalid(bytes32 taskId);
    error ZeroResultHash();

    event TaskCreated(
        bytes32 indexed taskId,
        address indexed user,
        address indexed serviceProvider,
        bytes32 programHash,
        uint8 computeNodes,
        uint8 storageNodes,
        Topology topology
    );
    event TaskScheduled(
        bytes32 indexed taskId,
        address[] computeServers,
        address[] storageServers,
        address globalNode,
        uint256 acceptBy
    );
    event TaskAccepted(bytes32 indexed taskId, address indexed server);
    event TaskDeclined(bytes32 indexed taskId, address indexed server);
    /// @notice Every server accepted: the task runs until `deadline`.
    event TaskRunning(bytes32 indexed taskId, uint256 deadline);
    event SandboxKeyRegistered(bytes32 indexed taskId, bytes encryptionKey, address signer);
    event SandboxKeyInvalidated(bytes32 indexed taskId, address indexed by);
    event ResultSubmitted(bytes32 indexed taskId, bytes32 resultHash);
    event TaskCompleted(bytes32 indexed taskId, bytes32 resultHash);
    event TaskFailed(bytes32 indexed taskId, address indexed by, Status previous);

    /// @param registry_ The RSC registry.
    constructor(RSC registry_) EIP712("Web3PPDC-Task", "1") {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
    }

    // ------------------------------------------------------------------ the user

    /// @notice Step 1: a Web3 user (role WEB3_USER) requests a computing task.
    /// @param requirements What the task needs; the service provider must hold SERVICE_PROVIDER.
    /// @return taskId The new task's id.
    function createTask(Requirements calldata requirements) external returns (bytes32 taskId) {
        _requireRole(msg.sender, USER);
        _requireRole(requirements.serviceProvider, PROVIDER);
        if (requirements.programHash == bytes32(0)) revert InvalidRequirements("programHash is zero");
        uint256 n = requirements.computeNodes;
        if (n == 0 || n > MAX_NODES) revert InvalidRequirements("computeNodes outside 1..MAX_NODES");
        if (requirements.topology == Topology.Star && n < 2) revert InvalidRequirements("a star needs 2 nodes");
        if (requirements.storageNodes > MAX_NODES) revert InvalidRequirements("storageNodes above MAX_NODES");
        if (requirements.acceptWindow == 0 || requirements.acceptWindow > MAX_WINDOW) {
            revert InvalidRequirements("acceptWindow outside 1..MAX_WINDOW");
        }
        if (requirements.duration == 0 || requirements.duration > MAX_WINDOW) {
            revert InvalidRequirements("duration outside 1..MAX_WINDOW");
        }
        taskId = bytes32(++taskCount);
        Task storage task = _tasks[taskId];
        task.user = msg.sender;
        task.status = Status.Created;
        task.topology = requirements.topology;
        task.requirements = requirements;
        emit TaskCreated(
            taskId,
            msg.sender,
            requirements.serviceProvider,
            requirements.programHash,
            requirements.computeNodes,
            requirements.storageNodes,
            requirements.topology
        );
    }

    /// @notice Step 2: the user assigns the task to servers that meet the requirements; the first computing
    ///         server is the global node. Every server must then `acceptTask` within the acceptance window.
    /// @param taskId The task (status Created).
    /// @param computeServers `computeNodes` distinct, active COMPUTE_SERVER nodes, none busy, each with at
    ///        least the required CPU cores and bandwidth.
    /// @param storageServers `storageNodes` distinct, active STORAGE_SERVER nodes with the required storage.
    function schedule(bytes32 taskId, address[] calldata computeServers, address[] calldata storageServers)
        external
    {
        Task storage task = _task(taskId);
        if (msg.sender != task.user) revert NotTaskUser(taskId, msg.sender);
        _requireStatus(taskId, task, Status.Created);
        Requirements storage req = task.requirements;
        if (computeServers.length != req.computeNodes || storageServers.length != req.storageNodes) {
            revert ServerCountMismatch(computeServers.length, storageServers.length);
        }
        for (uint256 i; i < computeServers.length; ++i) {
            address server = computeServers[i];
            RSC.Node memory node = _eligible(server, COMPUTE);
            if (node.resources.cpuCores < req.minCpuCores) revert IneligibleServer(server, "cpu cores");
            if (node.resources.networkMbps < req.minBandwidthMbps) revert IneligibleServer(server, "bandwidth");
            if (_slots[taskId][server] != 0) revert DuplicateServer(server);
            if (busyWith[server] != bytes32(0)) revert ServerBusy(server, busyWith[server]);
            _slots[taskId][server] = 1 + i;
            busyWith[server] = taskId;
        }
        for (uint256 i; i < storageServers.length; ++i) {
            address server = storageServers[i];
            RSC.Node memory node = _eligible(server, STORAGE);
            if (node.resources.storageGiB < req.minStorageGiB) revert IneligibleServer(server, "storage");
            if (_slots[taskId][server] != 0) revert DuplicateServer(server);
            _slots[taskId][server] = 0x100 + i;
        }
        uint256 acceptBy = block.timestamp + req.acceptWindow;
        task.computeServers = computeServers;
        task.storageServers = storageServers;
        task.globalNode = computeServers[0];
        task.status = Status.Scheduled;
        task.deadline = uint40(acceptBy);
        emit TaskScheduled(taskId, computeServers, storageServers, computeServers[0], acceptBy);
    }

    // ------------------------------------------------------------------ the servers

    /// @notice A selected server accepts the task; the last acceptance starts it (status Accepted).
    /// @param taskId The task (status Scheduled, before the acceptance deadline).
    function acceptTask(bytes32 taskId) external {
        Task storage task = _task(taskId);
        _requireStatus(taskId, task, Status.Scheduled);
        if (block.timestamp >= task.deadline) revert DeadlinePassed(taskId, task.deadline);
        uint256 bit = 1 << _slotOf(taskId, msg.sender);
        uint256 bits = _acceptedBits[taskId];
        if (bits & bit != 0) revert AlreadyAccepted(taskId, msg.sender);
        _acceptedBits[taskId] = bits | bit;
        uint8 accepted = task.accepted + 1;
        task.accepted = accepted;
        emit TaskAccepted(taskId, msg.sender);
        if (accepted == task.computeServers.length + task.storageServers.length) {
            uint256 deadline = block.timestamp + task.requirements.duration;
            task.status = Status.Accepted;
            task.deadline = uint40(deadline);
            emit TaskRunning(taskId, deadline);
        }
    }

    /// @notice A selected server declines: the task goes back to Created and the user may schedule again.
    /// @param taskId The task (status Scheduled).
    function declineTask(bytes32 taskId) external {
        Task storage task = _task(taskId);
        _requireStatus(taskId, task, Status.Scheduled);
        _slotOf(taskId, msg.sender);
        _release(taskId, task);
        task.status = Status.Created;
        task.deadline = 0;
        emit TaskDeclined(taskId, msg.sender);
    }

    /// @notice Step 4: records the sandbox key pair the computing servers generated together, with an
    ///         EIP-712 `SandboxKey` signature of every assigned computing server (in their order).
    /// @param taskId The task (status Accepted).
    /// @param encryptionKey The sandbox's compressed secp256k1 encryption key (33 bytes).
    /// @param signer The sandbox's signing address (it signs the result).
    /// @param signatures One 65-byte signature per computing server, in the order of `computeServers`.
    function registerSandboxKey(
        bytes32 taskId,
        bytes calldata encryptionKey,
        address signer,
        bytes[] calldata signatures
    ) external {
        Task storage task = _task(taskId);
        _requireStatus(taskId, task, Status.Accepted);
        if (_slots[taskId][msg.sender] == 0) revert NotAssigned(taskId, msg.sender);
        if (encryptionKey.length != 33 || (encryptionKey[0] != 0x02 && encryptionKey[0] != 0x03)) {
            revert InvalidSandboxKey();
        }
        if (signer == address(0)) revert ZeroAddress();
        uint256 n = task.computeServers.length;
        if (signatures.length != n) revert SignatureCountMismatch(signatures.length, n);
        bytes32 digest = sandboxKeyDigest(taskId, encryptionKey, signer);
        for (uint256 i; i < n; ++i) {
            address server = task.computeServers[i];
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signatures[i]);
            if (error != ECDSA.RecoverError.NoError || recovered != server) revert MissingCoSignature(taskId, server);
        }
        task.sandboxKey = encryptionKey;
        task.sandboxSigner = signer;
        task.keyValid = true;
        task.status = Status.SandboxReady;
        emit SandboxKeyRegistered(taskId, encryptionKey, signer);
    }

    /// @notice Step 10: a computing server destroyed its sandbox; the key is invalid from now on.
    /// @param taskId The task (its key currently valid).
    function invalidateSandboxKey(bytes32 taskId) external {
        Task storage task = _task(taskId);
        uint256 slot = _slots[taskId][msg.sender];
        if (slot == 0 || slot >= 0x100) revert NotAssigned(taskId, msg.sender);
        if (!task.keyValid) revert SandboxKeyInvalid(taskId);
        task.keyValid = false;
        emit SandboxKeyInvalidated(taskId, msg.sender);
    }

    /// @notice Step 8/11: the global node submits the hash of the result it sent to the service provider.
    /// @param taskId The task (status SandboxReady, before the deadline).
    /// @param resultHash Hash of the result (non-zero).
    function submitResult(bytes32 taskId, bytes32 resultHash) external {
        Task storage task = _task(taskId);
        _requireStatus(taskId, task, Status.SandboxReady);
        if (msg.sender != task.globalNode) revert NotGlobalNode(taskId, msg.sender);
        if (block.timestamp >= task.deadline) revert DeadlinePassed(taskId, task.deadline);
        if (resultHash == bytes32(0)) revert ZeroResultHash();
        task.resultHash = resultHash;
        task.status = Status.ResultSubmitted;
        emit ResultSubmitted(taskId, resultHash);
    }

    // ------------------------------------------------------------------ the service provider, anyone

    /// @notice The service provider decrypted and verified the result: the task is complete, the sandbox key
    ///         invalid and the computing servers free again.
    /// @param taskId The task (status ResultSubmitted).
    function completeTask(bytes32 taskId) external {
        Task storage task = _task(taskId);
        _requireStatus(taskId, task, Status.ResultSubmitted);
        if (msg.sender != task.requirements.serviceProvider) revert NotServiceProvider(taskId, msg.sender);
        _end(taskId, task);
        task.status = Status.Completed;
        emit TaskCompleted(taskId, task.resultHash);
    }

    /// @notice Fails a task: the user or the service provider at any time before completion, anyone once the
    ///         current deadline (acceptance or completion) passed. Invalidates the key, frees the servers.
    /// @param taskId The task (not Completed or Failed).
    function failTask(bytes32 taskId) external {
        Task storage task = _task(taskId);
        Status previous = task.status;
        if (previous == Status.Completed || previous == Status.Failed) revert WrongStatus(taskId, previous);
        bool party = msg.sender == task.user || msg.sender == task.requirements.serviceProvider;
        if (!party) {
            if (previous == Status.Created) revert NotTaskUser(taskId, msg.sender);
            if (block.timestamp < task.deadline) revert DeadlineNotReached(taskId, task.deadline);
        }
        if (previous != Status.Created) _end(taskId, task);
        task.status = Status.Failed;
        emit TaskFailed(taskId, msg.sender, previous);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITaskRoster
    function mayOpenChannel(bytes32 taskId, address a, address b) external view returns (bool) {
        Task storage task = _tasks[taskId];
        Status status = task.status;
        if (status != Status.Accepted && status != Status.SandboxReady && status != Status.ResultSubmitted) {
            return false;
        }
        if (a == b) return false;
        address global = task.globalNode;
        mapping(address => uint256) storage slots = _slots[taskId];
        if (task.topology == Topology.Star) {
            // Exactly the edges global <-> local (R12): one side is the global node, the other a computing server.
            address other = a == global ? b : (b == global ? a : address(0));
            if (other == address(0)) return false;
            uint256 slot = slots[other];
            return slot != 0 && slot < 0x100;
        }
        uint256 slotA = slots[a];
        uint256 slotB = slots[b];
        return slotA != 0 && slotA < 0x100 && slotB != 0 && slotB < 0x100;
    }

    /// @notice A task's record (arrays included).
    /// @param taskId The task.
    /// @return The record (status None when unknown).
    function getTask(bytes32 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice Whether the task's sandbox key is registered and not invalidated.
    /// @param taskId The task.
    /// @return True while senders may encrypt to the sandbox.
    function isSandboxKeyValid(bytes32 taskId) external view returns (bool) {
        return _tasks[taskId].keyValid;
    }

    /// @notice The sandbox key to encrypt to; reverts with `SandboxKeyInvalid` once it is destroyed (or
    ///         before it exists), so honest senders never encrypt to a dead sandbox.
    /// @param taskId The task.
    /// @return encryptionKey The compressed secp256k1 key.
    /// @return signer The sandbox's signing address.
    function sandboxKey(bytes32 taskId) external view returns (bytes memory encryptionKey, address signer) {
        Task storage task = _tasks[taskId];
        if (!task.keyValid) revert SandboxKeyInvalid(taskId);
        return (task.sandboxKey, task.sandboxSigner);
    }

    /// @notice The EIP-712 digest each computing server signs to approve a sandbox key.
    /// @param taskId The task.
    /// @param encryptionKey The sandbox encryption key.
    /// @param signer The sandbox signing address.
    /// @return The digest of SandboxKey(taskId, keccak256(encryptionKey), signer, programHash).
    function sandboxKeyDigest(bytes32 taskId, bytes calldata encryptionKey, address signer)
        public
        view
        returns (bytes32)
    {
        bytes32 programHash = _tasks[taskId].requirements.programHash;
        return _hashTypedDataV4(
            keccak256(abi.encode(SANDBOX_KEY_TYPEHASH, taskId, keccak256(encryptionKey), signer, programHash))
        );
    }

    // ------------------------------------------------------------------ internals

    function _task(bytes32 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == Status.None) revert UnknownTask(taskId);
    }

    function _requireStatus(bytes32 taskId, Task storage task, Status expected) private view {
        if (task.status != expected) revert WrongStatus(taskId, task.status);
    }

    function _requireRole(address account, uint64 roles) private view {
        if (account == address(0)) revert ZeroAddress();
        if (!registry.isActive(account, roles)) revert MissingRole(account, roles);
    }

    function _eligible(address server, uint64 role) private view returns (RSC.Node memory node) {
        node = registry.getNode(server);
        if (node.status != RSC.Status.Active || node.roles & role != role) revert IneligibleServer(server, "role");
    }

    /// @dev The acceptance bit position of an assigned server (compute 0..15, storage 16..31).
    function _slotOf(bytes32 taskId, address server) private view returns (uint256) {
        uint256 slot = _slots[taskId][server];
        if (slot == 0) revert NotAssigned(taskId, server);
        return slot >= 0x100 ? MAX_NODES + (slot - 0x100) : slot - 1;
    }

    /// @dev Clears assignments and acceptances, frees the computing servers (bounded by MAX_NODES each).
    function _release(bytes32 taskId, Task storage task) private {
        address[] storage compute = task.computeServers;
        for (uint256 i; i < compute.length; ++i) {
            delete _slots[taskId][compute[i]];
            if (busyWith[compute[i]] == taskId) delete busyWith[compute[i]];
        }
        address[] storage storage_ = task.storageServers;
        for (uint256 i; i < storage_.length; ++i) {
            delete _slots[taskId][storage_[i]];
        }
        delete task.computeServers;
        delete task.storageServers;
        delete _acceptedBits[taskId];
        task.accepted = 0;
        task.globalNode = address(0);
    }

    /// @dev Ends a scheduled or running task: key invalid, computing servers free (assignments stay readable).
    function _end(bytes32 taskId, Task storage task) private {
        if (task.keyValid) {
            task.keyValid = false;
            emit SandboxKeyInvalidated(taskId, msg.sender);
        }
        address[] storage compute = task.computeServers;
        for (uint256 i; i < compute.length; ++i) {
            if (busyWith[compute[i]] == taskId) delete busyWith[compute[i]];
        }
        task.deadline = 0;
    }
}
