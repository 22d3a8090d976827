"""The computing sandbox of seed 004 (Fig. 3): one isolated space per computing server per task.

Layers, from pure to I/O:

* :mod:`.envelope`: the signed-and-encrypted envelope every input and output travels in (pure);
* :mod:`.protocol`: the host ↔ sandbox messages, their framing and ``program_hash`` (pure);
* :mod:`.runtime`: the state machine that runs *inside* the sandbox: keys, hash check, program (pure);
* :mod:`.limits`: resource limits and the network-namespace probe;
* :mod:`.worker`: the child process's main loop (socket ↔ runtime);
* :mod:`.host`: :class:`~.host.Sandbox` and :class:`~.host.SandboxHost`, the host's ciphertext-only API.
"""
