// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ITaskRoster: which computing servers of a task may open a state channel with each other
/// @notice Implemented by TaskManager. StateChannelManager asks it once per `open`, so that only computing
///         servers assigned to (and having accepted) the same task can become channel parties (spec 004, R5).
interface ITaskRoster {
    /// @notice Whether `a` and `b` are two distinct computing servers that accepted task `taskId`, and the
    ///         task is in a phase where channels may be opened.
    /// @param taskId The task.
    /// @param a One server.
    /// @param b The other server.
    /// @return True when a channel between them for this task is allowed.
    function mayOpenChannel(bytes32 taskId, address a, address b) external view returns (bool);
}
