"""metatrust off-chain package: the shared platform (chain, crypto, agents, storage, bench) and one
sub-package per system. Pure protocol cores never do I/O; agents and clients do."""

__version__ = "0.1.0"
