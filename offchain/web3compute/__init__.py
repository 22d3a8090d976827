"""Web3 data computing (seed 004): state channels between computing servers, task scheduling.

Spec: ``/work/shared/specs/004-web3-compute.md``. :mod:`.state` is the pure channel-state core (EIP-712
digests, transcript hash chain).
"""
