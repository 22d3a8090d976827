"""RSMS (seed 002): mutual authentication of resource nodes, group authentication, and the shared ledger.

Spec: ``/work/shared/specs/002-rsms.md``. :mod:`.ledger` is the ledger interface and its on-chain client
(``contracts/resource_auth/RSMSLedger.sol``); :mod:`.reliability` is the Monte Carlo throughput study of
spec §5 (Figs. 5–7).
"""
