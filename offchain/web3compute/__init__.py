"""Web3 data computing (seed 004): state channels, scheduling, computing sandbox, onion routing.

Spec: ``/work/shared/specs/004-web3-compute.md``. :mod:`.state` is the pure channel-state core (EIP-712
digests, transcript hash chain); :mod:`.channel`, :mod:`.store`, :mod:`.agent` and :mod:`.watchtower` the
channel client; :mod:`.sandbox` the computing sandbox; :mod:`.onion` the onion routing; :mod:`.fl` the
federated-learning task.
"""
