"""A colluding set of routers trying to locate sandboxes from their own logs (pure; model (a) of §3.3).

The colluders pool their observations. An *entry* observation is one whose predecessor is not a router
of the public directory, so it must be an onion proxy (a data sender). An *exit* observation is one that
delivered to an Exit (a sandbox). Because a reply travels back through every hop, the time a router spends
on a cell nests inside the time of the hops before it. So an exit observation whose interval lies inside
an entry observation's interval is, for traffic that does not overlap in time, the same message, and the
colluders link that sender to that sandbox. This is a timing-correlation attack with no cryptography
involved. It succeeds exactly when the colluders hold OR_1 and OR_k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from offchain.web3compute.onion.transport import Observation


@dataclass(frozen=True)
class Link:
    """The colluders' claim: this sender talked to this sandbox during ``[started, finished]``."""

    sender: str
    sandbox: str
    started: float
    finished: float


def correlate(observations: Iterable[Observation], router_hosts: Iterable[str]) -> list[Link]:
    """Every (sender, sandbox) link that the pooled ``observations`` of colluding routers support."""
    routers = set(router_hosts)
    pooled = [o for o in observations if o.outcome in ("relayed", "delivered")]
    entries = [o for o in pooled if o.predecessor not in routers]
    exits = [o for o in pooled if o.outcome == "delivered"]
    return [
        Link(entry.predecessor, exit_.successor, entry.started, entry.finished)
        for entry in entries
        for exit_ in exits
        if entry.started <= exit_.started and exit_.finished <= entry.finished
    ]


@dataclass(frozen=True)
class Sent:
    """Ground truth of one message, as its sender knows it."""

    sender: str
    sandbox: str
    started: float
    finished: float


def success_rate(links: Sequence[Link], sent: Sequence[Sent]) -> float:
    """Fraction of messages whose true (sender, sandbox) pair the colluders claimed within its time."""
    if not sent:
        return 0.0
    hits = 0
    for message in sent:
        hits += any(
            link.sender == message.sender
            and link.sandbox == message.sandbox
            and message.started <= link.started
            and link.finished <= message.finished
            for link in links
        )
    return hits / len(sent)
