"""Exception types of :mod:`offchain.outsourcing` (Meta-BMEOC, seed 000)."""


class OutsourcingError(Exception):
    """Base class of every error raised by :mod:`offchain.outsourcing`."""


class InvalidParameters(OutsourcingError, ValueError):  # noqa: N818 (reads as the state it reports)
    """A protocol parameter is out of range: q not prime, t < 1, m < (d+1)t+1, m >= q, wrong lengths."""


class MalformedMessage(OutsourcingError, ValueError):  # noqa: N818
    """A message (task, share, result, transaction) does not have the shape the protocol requires."""


class TaskRejected(OutsourcingError):  # noqa: N818
    """A CSN refuses a task: bad MTD signature, share not matching the committed ID_Tj, wrong index, ..."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
