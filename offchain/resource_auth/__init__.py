"""RSMS (seed 002): blockchain-backed mutual authentication of resource nodes and group authentication.

Pure protocol core (no I/O): primitives (:mod:`group`, :mod:`hashes`, :mod:`bloom`, :mod:`shamir`,
:mod:`ecc_enc`, :mod:`schnorr`), messages (:mod:`messages`), the ledger interface (:mod:`ledger_api`) and
the parties' state machines (:mod:`parties`, :mod:`group_auth`).
"""
