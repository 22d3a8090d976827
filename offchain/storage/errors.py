"""Exception types of :mod:`offchain.storage`: every failure of a store surfaces as one of these."""


class StorageError(Exception):
    """Base class of every error raised by :mod:`offchain.storage`."""


class MalformedCid(StorageError, ValueError):  # noqa: N818 (named after what is wrong)
    """A string or byte string is not a valid CID (encoding, version, codec or multihash)."""


class UnknownCid(StorageError, KeyError):  # noqa: N818
    """The store holds no block for this CID (or for one of the blocks below it)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown CID"


class CorruptedBlock(StorageError):  # noqa: N818
    """A block read back does not hash to its CID, or cannot be decoded as the DAG node it should be."""


class BackendUnreachable(StorageError, ConnectionError):  # noqa: N818
    """The storage backend (an IPFS daemon's RPC endpoint) cannot be reached or answered nonsense."""


class UnsupportedContent(StorageError):  # noqa: N818
    """The DAG is valid but not a UnixFS file this package reads (a directory, a HAMT shard, a symlink)."""
