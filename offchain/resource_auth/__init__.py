"""RSMS (seed 002): blockchain-backed mutual authentication of resource nodes and group authentication.

Spec: ``/work/shared/specs/002-rsms.md``. Pure protocol core (no I/O): primitives (:mod:`.group`,
:mod:`.hashes`, :mod:`.bloom`, :mod:`.shamir`, :mod:`.ecc_enc`, :mod:`.schnorr`), messages (:mod:`.messages`),
the ledger interface (:mod:`.ledger_api`) and the parties' state machines (:mod:`.parties`,
:mod:`.group_auth`). :mod:`.ledger` is the on-chain client of ``contracts/resource_auth/RSMSLedger.sol``;
:mod:`.reliability` is the Monte Carlo throughput study of spec §5 (Figs. 5–7).
"""
