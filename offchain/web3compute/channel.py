"""One party of a two-party state channel: propose, countersign and keep the latest co-signed state.

The update protocol of spec 004 §2.6 for a transmission ``m`` from X to Y:

1. X :meth:`~ChannelParty.propose` s the next state (nonce + 1, msgCount + 1, transcript extended with
   ``keccak256(m)``) and signs it; X keeps at most one outstanding proposal;
2. Y :meth:`~ChannelParty.countersign` s after checking everything (channel, nonce, transcript over the
   payload it received, escrow, that X only lowered its own balance, X's signature), persists the
   co-signed state durably and only then returns its signature;
3. X :meth:`~ChannelParty.accept` s the countersignature and persists the co-signed state.

A state is acknowledged only once durable at the receiver, so after any crash the receiver holds every
state the sender holds, and a restarted party (:meth:`ChannelParty.open`) resumes from its store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_canonical_address, to_checksum_address

from offchain.crypto.hashing import keccak256
from offchain.crypto.keys import KeyPair
from offchain.crypto.signing import DigestSigner, is_hash_signer
from offchain.web3compute.state import (
    ChannelDomain,
    ChannelState,
    MalformedState,
    next_transcript_raw,
    sorted_parties,
    state_digest,
)
from offchain.web3compute.store import ChannelStore, SignedState


class ChannelError(Exception):
    """A refused update; ``status`` is the HTTP status an agent answers with (400, or 409 for a stale one)."""

    def __init__(self, code: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ChannelInfo:
    """The constants of a channel: where it lives, its task, parties (contract order) and deposits."""

    chain_id: int
    manager: str
    task_id: bytes
    party_a: str
    party_b: str
    deposit_a: int
    deposit_b: int

    @classmethod
    def of(
        cls, chain_id: int, manager: str, task_id: bytes, x: str, y: str, deposits: dict[str, int]
    ) -> ChannelInfo:
        """From two parties in any order; ``deposits`` maps each address to its escrow."""
        a, b = sorted_parties(x, y)
        by_address = {k.lower(): v for k, v in deposits.items()}
        deposit_a, deposit_b = by_address.get(a.lower(), 0), by_address.get(b.lower(), 0)
        return cls(chain_id, to_checksum_address(manager), task_id, a, b, deposit_a, deposit_b)

    @property
    def domain(self) -> ChannelDomain:
        return ChannelDomain(self.chain_id, self.manager)

    @property
    def channel_id(self) -> bytes:
        return self.domain.channel_id(self.task_id, self.party_a, self.party_b)

    def initial_state(self) -> ChannelState:
        return ChannelState.initial(self.channel_id, self.task_id, self.deposit_a, self.deposit_b)

    def to_meta(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "manager": self.manager,
            "taskId": "0x" + self.task_id.hex(),
            "partyA": self.party_a,
            "partyB": self.party_b,
            "depositA": str(self.deposit_a),
            "depositB": str(self.deposit_b),
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ChannelInfo:
        return cls(
            int(meta["chainId"]),
            str(meta["manager"]),
            bytes.fromhex(str(meta["taskId"])[2:]),
            str(meta["partyA"]),
            str(meta["partyB"]),
            int(meta["depositA"]),
            int(meta["depositB"]),
        )


@dataclass(frozen=True)
class Proposal:
    """A state the proposer signed and waits to see countersigned."""

    state: ChannelState
    signature: bytes
    ciphertext_hash: bytes | None
    digest: bytes  # the EIP-712 digest that was signed


class ChannelParty:
    """``me``'s side of one channel, backed by a :class:`ChannelStore`.

    ``window`` is how many proposals may await countersignature at once (1: strictly one at a time). With
    a window, the receiver checks and countersigns a batch in order and makes it durable with one
    ``fdatasync`` (of the newest state, which supersedes the others) before releasing any signature, so
    every acknowledged update is still durable: group commit, not deferred durability.
    """

    def __init__(self, info: ChannelInfo, me: KeyPair, store: ChannelStore, *, window: int = 1) -> None:
        if me.address not in (info.party_a, info.party_b):
            raise ValueError(f"{me.address} is not a party of this channel")
        if window < 1:
            raise ValueError("window must be >= 1")
        self.info = info
        self.me = me
        self.store = store
        self.window = window
        self.channel_id = info.channel_id
        self.is_a = me.address == info.party_a
        self.counterparty = info.party_b if self.is_a else info.party_a
        self._separator = info.domain.separator
        self._signer = DigestSigner(me)
        self._me_raw = to_canonical_address(me.address)
        self._counterparty_raw = to_canonical_address(self.counterparty)
        self._pending: list[Proposal] = []

    @classmethod
    def create(cls, root: Path, info: ChannelInfo, me: KeyPair, *, window: int = 1) -> ChannelParty:
        """A new channel store under ``root/<channel id>`` (fails if it exists)."""
        store = ChannelStore.create(root / info.channel_id.hex(), {**info.to_meta(), "me": me.address})
        return cls(info, me, store, window=window)

    @classmethod
    def open(cls, root: Path, channel_id: bytes, me: KeyPair, *, window: int = 1) -> ChannelParty:
        """Reopen after a restart: the latest co-signed state comes back from disk."""
        store = ChannelStore.open(root / channel_id.hex())
        return cls(ChannelInfo.from_meta(store.meta), me, store, window=window)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ reading

    @property
    def latest_signed(self) -> SignedState | None:
        """The latest fully co-signed state (None while only the implicit initial state exists)."""
        return self.store.latest

    @property
    def latest(self) -> ChannelState:
        """The latest co-signed state, or the implicit initial one."""
        signed = self.store.latest
        return signed.state if signed is not None else self.info.initial_state()

    def _balance_of_me(self, state: ChannelState) -> int:
        return state.balance_a if self.is_a else state.balance_b

    @property
    def my_balance(self) -> int:
        return self._balance_of_me(self.latest)

    # ------------------------------------------------------------------ the sender

    def propose(self, ciphertext: bytes | None = None, *, pay: int = 0) -> Proposal:
        """Sign the next state: one transmission of ``ciphertext`` to the counterparty (if given), and
        ``pay`` base units moved from me to the counterparty. It follows my last pending proposal."""
        if len(self._pending) >= self.window:
            raise ChannelError("pending", f"{len(self._pending)} proposals await countersignature", 409)
        current = self._pending[-1].state if self._pending else self.latest
        balance = self._balance_of_me(current)
        if pay < 0 or pay > balance:
            raise ChannelError("bad-payment", f"cannot pay {pay} from a balance of {balance}")
        new_a = current.balance_a - pay if self.is_a else current.balance_a + pay
        try:
            if ciphertext is None:
                state = current.advance(balance_a=new_a)
                digest = None
            else:
                digest = keccak256(ciphertext)
                index = current.msg_count + 1
                transcript = next_transcript_raw(
                    current.transcript_hash, digest, self._me_raw, self._counterparty_raw, index
                )
                state = current.advance(transcript_hash=transcript, messages=1, balance_a=new_a)
        except MalformedState as exc:
            raise ChannelError("bad-state", str(exc)) from exc
        return self._sign_pending(state, digest)

    def propose_final(self, result_hash: bytes) -> Proposal:
        """Sign the final state carrying the task result hash (for ``cooperativeClose``)."""
        if self._pending:
            raise ChannelError("pending", "earlier proposals are not countersigned yet", 409)
        try:
            state = self.latest.advance(result_hash=result_hash, is_final=True)
        except MalformedState as exc:
            raise ChannelError("bad-state", str(exc)) from exc
        return self._sign_pending(state, None)

    def _sign_pending(self, state: ChannelState, payload_hash: bytes | None) -> Proposal:
        digest = state_digest(self._separator, state)
        proposal = Proposal(state, self._signer.sign(digest), payload_hash, digest)
        self._pending.append(proposal)
        return proposal

    def accept(self, state: ChannelState, counter_signature: bytes) -> SignedState:
        """Take the counterparty's signature of my oldest pending proposal and persist the co-signed state."""
        return self.accept_many([(state, counter_signature)])

    def accept_many(self, answers: list[tuple[ChannelState, bytes]]) -> SignedState:
        """Countersignatures of my oldest pending proposals, in order; one durable save of the newest."""
        if not answers or len(answers) > len(self._pending):
            raise ChannelError("no-such-proposal", "more answers than pending proposals")
        signed: SignedState | None = None
        for proposal, (state, counter_signature) in zip(self._pending, answers, strict=False):
            if proposal.state != state:
                raise ChannelError("no-such-proposal", "this state is not my pending proposal")
            if not is_hash_signer(proposal.digest, counter_signature, self.counterparty):
                raise ChannelError("bad-signature", f"the state is not signed by {self.counterparty}", 401)
            signed = self._signed(state, proposal.signature, counter_signature)
        assert signed is not None
        self.store.save(signed)
        del self._pending[: len(answers)]
        return signed

    def adopt(self, signed: SignedState) -> bool:
        """Take a newer fully co-signed state, e.g. from the counterparty after I restarted one state behind.

        Both signatures must verify and the state must belong to this channel and keep the escrow. Returns
        whether it was newer than mine (and is now my latest, durably); an older one changes nothing.
        """
        state = signed.state
        if state.channel_id != self.channel_id or state.task_id != self.info.task_id:
            raise ChannelError("wrong-channel", "the state is for another channel or task")
        if state.escrow != self.info.deposit_a + self.info.deposit_b:
            raise ChannelError("bad-balance", f"balances sum to {state.escrow}, not to the escrow")
        digest = state_digest(self._separator, state)
        if not (
            is_hash_signer(digest, signed.sig_a, self.info.party_a)
            and is_hash_signer(digest, signed.sig_b, self.info.party_b)
        ):
            raise ChannelError("bad-signature", "the state is not signed by both parties", 401)
        if state.nonce <= self.latest.nonce:
            return False
        self.store.save(signed)
        self._pending.clear()
        return True

    def abandon(self) -> None:
        """Forget every pending proposal (the counterparty refused them)."""
        self._pending.clear()

    # ------------------------------------------------------------------ the receiver

    def countersign(self, state: ChannelState, signature: bytes, ciphertext: bytes | None) -> bytes:
        """Check a proposed state against the payload received, persist it co-signed, return my signature.

        Raises :class:`ChannelError` (and persists nothing) when anything does not hold.
        """
        return self.countersign_many([(state, signature, ciphertext)])[0]

    def countersign_many(self, proposals: list[tuple[ChannelState, bytes, bytes | None]]) -> list[bytes]:
        """Check a batch of consecutive proposals in order, persist the newest co-signed state once
        (fdatasync), then return my signatures. All or nothing: one bad proposal refuses the batch."""
        if not proposals:
            raise ChannelError("empty", "no proposal given")
        if len(proposals) > self.window:
            raise ChannelError("too-many", f"at most {self.window} proposals at once")
        current = self.latest
        mine: list[bytes] = []
        last: SignedState | None = None
        for state, signature, ciphertext in proposals:
            digest = self._check_next(current, state, signature, ciphertext)
            my_signature = self._signer.sign(digest)
            mine.append(my_signature)
            last = self._signed(state, my_signature, signature)
            current = state
        assert last is not None
        self.store.save(last)
        return mine

    def _check_next(
        self, current: ChannelState, state: ChannelState, signature: bytes, ciphertext: bytes | None
    ) -> bytes:
        """Every check of a proposal following ``current``; returns the state's digest."""
        if state.channel_id != self.channel_id or state.task_id != self.info.task_id:
            raise ChannelError("wrong-channel", "the state is for another channel or task")
        if current.is_final:
            raise ChannelError("channel-final", "the channel already has a final state", 409)
        if state.nonce != current.nonce + 1:
            raise ChannelError("stale-nonce", f"expected nonce {current.nonce + 1}, got {state.nonce}", 409)
        if state.escrow != current.escrow:
            raise ChannelError("bad-balance", f"balances sum to {state.escrow}, escrow is {current.escrow}")
        if self._balance_of_me(state) < self._balance_of_me(current):
            raise ChannelError("bad-balance", "the proposer may only pay from its own balance")
        if ciphertext is None:
            if state.msg_count != current.msg_count or state.transcript_hash != current.transcript_hash:
                raise ChannelError("bad-transcript", "no payload, yet the transcript changed")
        else:
            index = current.msg_count + 1
            expected = next_transcript_raw(
                current.transcript_hash, keccak256(ciphertext), self._counterparty_raw, self._me_raw, index
            )
            if state.msg_count != index or state.transcript_hash != expected:
                raise ChannelError("bad-transcript", "the transcript does not commit to the payload received")
        if not state.is_final and state.result_hash != current.result_hash:
            raise ChannelError("bad-state", "only the final state may set the result hash")
        digest = state_digest(self._separator, state)
        if not is_hash_signer(digest, signature, self.counterparty):
            raise ChannelError("bad-signature", f"the state is not signed by {self.counterparty}", 401)
        return digest

    # ------------------------------------------------------------------ helpers

    def _signed(self, state: ChannelState, mine: bytes, theirs: bytes) -> SignedState:
        """The two signatures of ``state`` in the contract's order (partyA, partyB)."""
        return SignedState(state, mine, theirs) if self.is_a else SignedState(state, theirs, mine)


def state_signer_is(separator: bytes, state: ChannelState, signature: bytes, expected: str) -> bool:
    """Whether ``signature`` over ``state`` recovers to ``expected`` (False for malformed signatures)."""
    return is_hash_signer(state_digest(separator, state), signature, expected)
