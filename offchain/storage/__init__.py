"""Content-addressed, encrypted storage shared by every system (spec 001 §4).

* :class:`ContentStore`: the interface (``put``/``get``/``has``/``pin``/``unpin``);
* :class:`LocalStore`: the embedded default, blocks in a directory, no daemon;
* :class:`KuboRpcStore`: a thin client of a Kubo daemon's (or IPFS Cluster's) HTTP RPC;
* :class:`EncryptedStore`: AES-256-GCM with an ECIES-wrapped key on top of either;
* :mod:`offchain.storage.unixfs`: Kubo's ``ipfs add`` DAG, so both backends give the same CIDs.
"""

from offchain.storage.base import ContentStore
from offchain.storage.cid import Cid, canonical_reference, parse_cid, reference_hash
from offchain.storage.embedded import LocalStore
from offchain.storage.encrypted import EncryptedStore, SealedRef
from offchain.storage.errors import (
    BackendUnreachable,
    CorruptedBlock,
    MalformedCid,
    StorageError,
    UnknownCid,
    UnsupportedContent,
)
from offchain.storage.kubo import KuboRpcStore
from offchain.storage.unixfs import ImportOptions, compute_cid, import_bytes

__all__ = [
    "BackendUnreachable",
    "Cid",
    "ContentStore",
    "CorruptedBlock",
    "EncryptedStore",
    "ImportOptions",
    "KuboRpcStore",
    "LocalStore",
    "MalformedCid",
    "SealedRef",
    "StorageError",
    "UnknownCid",
    "UnsupportedContent",
    "canonical_reference",
    "compute_cid",
    "import_bytes",
    "parse_cid",
    "reference_hash",
]
