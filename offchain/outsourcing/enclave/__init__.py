"""The off-chain contract environment of Meta-BMEOC (spec 000 §3.8): enclave processes and the Leader's
protocol. See docs/outsourcing-enclaves.md.

* :mod:`~.keys` (identity, encryption and BLS keys from one keystore), :mod:`~.wire` (HTTP messages),
  :mod:`~.sealing` (TX_acc to the enclaves, Group_C to the MTD), :mod:`~.contracts` (the off-chain contracts
  as one enclave hosts them): pure;
* :mod:`~.chain` (RSC, MSC, ASC), :mod:`~.leader` (collect, compare, aggregate, challenge, anchor),
  :mod:`~.service` (the enclave agent), :mod:`~.process` (one OS process per enclave): I/O.
"""
