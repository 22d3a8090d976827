"""Group authentication of RSMS (spec 002 §3.5): a User and N RNs.

* :class:`GroupManager` is the MSRP's side: allocation (only pool-authenticated, unrevoked RNs), GMA
  step 2 (shares of a fresh degree-N polynomial with f(0) = s_serv = H2(r ‖ msk ‖ PID_1 ‖ … ‖ PID_{N+1})),
  GSKU (s^new = s_new + msk·H5(Q_new, PK_pub) to every party not evicted) and the join/replace step the
  paper leaves out (§3.5.4, §8 item 29: the new member set gets a fresh polynomial and a fresh key).
* :class:`GroupParty` is one party's state machine: GMA steps 3–5 (f(x_i)·P, C_i = λ_i·f(x_i)·P,
  ∑C_i = Q), GSKA (masked shares, Lagrange reconstruction, H4(s') = H4(s_serv)) and GSKU's check.
* :class:`ServiceChannel`: service traffic under AES-256-GCM with key HKDF(s_serv, session ‖ epoch)
  (§8 item 32); every membership change moves the epoch, so an evicted RN cannot read new traffic and a
  new RN cannot read old traffic.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from offchain.resource_auth import ecc_enc, schnorr, shamir
from offchain.resource_auth.config import RSMSConfig
from offchain.resource_auth.errors import (
    DecryptionFailed,
    KeyConfirmationFailed,
    KeyUpdateRejected,
    MalformedMessage,
    MembershipCheckFailed,
    NotAllocatable,
    OutOfOrder,
    UnauthorizedSender,
)
from offchain.resource_auth.group import (
    Point,
    Q,
    generator,
    identity,
    random_scalar,
    scalar_from_bytes,
    scalar_to_bytes,
)
from offchain.resource_auth.hashes import H2, H4, H5, encode, xor
from offchain.resource_auth.messages import SESSION_BYTES, GroupSetup, KeyUpdate, MaskedShare, PartyPoint
from offchain.resource_auth.parties import MSRP

UNSIGNED = bytes(schnorr.SIGNATURE_BYTES)


def share_aad(session: bytes, epoch: int, pid: bytes) -> bytes:
    return b"RSMS-share" + session + epoch.to_bytes(4, "big") + pid


def update_aad(session: bytes, epoch: int, pid: bytes) -> bytes:
    return b"RSMS-update" + session + epoch.to_bytes(4, "big") + pid


@dataclass
class GroupSession:
    """The MSRP's view of one service group."""

    session: bytes
    epoch: int
    pids: list[bytes]
    keys: dict[bytes, Point]
    s_serv: int
    q_point: Point
    evicted: set[bytes] = field(default_factory=set)


class GroupManager:
    """The MSRP's side of the group protocol."""

    def __init__(self, msrp: MSRP, rng: random.Random | None = None) -> None:
        self.msrp = msrp
        self._rng = rng
        self.sessions: dict[bytes, GroupSession] = {}

    @property
    def config(self) -> RSMSConfig:
        return self.msrp.config

    def _rn_party(self, pid: bytes) -> tuple[bytes, Point]:
        """An RN is allocatable by its last recorded pseudonym if pool-authenticated and not revoked."""
        rid = self.msrp.rid_of_current_pid(pid)
        if rid is None:
            raise NotAllocatable("not the pseudonym of a pool-authenticated RN")
        record = self.msrp.rns[rid]
        if record.revoked or record.flagged or self.msrp.ledger.is_revoked(pid):
            raise NotAllocatable("the RN is revoked or flagged")
        return pid, record.pk

    def _deal(
        self, session: bytes, epoch: int, pids: list[bytes], keys: dict[bytes, Point]
    ) -> list[GroupSetup]:
        r = random_scalar(self._rng)
        s_serv = H2(r, self.msrp.msk, *pids)
        xs = [H2(pid) for pid in pids]
        if len(set(xs)) != len(xs):
            raise NotAllocatable("two parties share x_i = H2(PID_i)")  # §8 item 23
        polynomial = shamir.random_polynomial(s_serv, len(pids) - 1, self._rng)
        q_point = generator() * s_serv
        key_check = scalar_to_bytes(H4(s_serv))
        self.sessions[session] = GroupSession(session, epoch, list(pids), dict(keys), s_serv, q_point)
        messages = []
        for pid, x in zip(pids, xs, strict=True):
            share = scalar_to_bytes(shamir.evaluate(polynomial, x))
            enc = ecc_enc.encrypt(keys[pid], share, share_aad(session, epoch, pid), self._rng)
            unsigned = GroupSetup(session, epoch, tuple(pids), q_point, key_check, pid, enc, UNSIGNED)
            messages.append(unsigned)
        if self.config.sign_group_setup:
            signature = schnorr.sign(self.msrp.msk, self.msrp.pk_pub, messages[0].signed_part(), self._rng)
            messages = [
                GroupSetup(
                    m.session,
                    m.epoch,
                    m.pids,
                    m.q_point,
                    m.key_check,
                    m.recipient,
                    m.enc_share,
                    signature.to_bytes(),
                )
                for m in messages
            ]
        return messages

    def start_group(self, user_pid: bytes, rn_pids: Sequence[bytes]) -> list[GroupSetup]:
        """GMA steps 1–2: allocate the RNs, send each party its encrypted share, List_PID, Q, H4(s_serv)."""
        user = self.msrp.users.get(user_pid)
        if user is None:
            raise NotAllocatable("unknown User")
        if not rn_pids or len(set(rn_pids)) != len(rn_pids):
            raise NotAllocatable("a group needs N ≥ 1 distinct RNs")
        keys = {user_pid: user.pk}
        for pid in rn_pids:
            party_pid, pk = self._rn_party(pid)
            keys[party_pid] = pk
        session = (
            secrets.token_bytes(SESSION_BYTES) if self._rng is None else self._rng.randbytes(SESSION_BYTES)
        )
        return self._deal(session, 1, [user_pid, *rn_pids], keys)

    def update_group(self, session: bytes, leaving: Sequence[bytes]) -> list[KeyUpdate]:
        """GSKU: evict the suspicious RNs M (never the User) and send s^new to every remaining party."""
        group = self.sessions[session]
        if group.pids[0] in leaving:
            raise NotAllocatable("the User (Party_1) is never evicted")
        unknown = [pid for pid in leaving if pid not in group.pids]
        if unknown:
            raise NotAllocatable("evicting a non-member")
        group.evicted.update(leaving)
        group.pids = [pid for pid in group.pids if pid not in leaving]
        s_new = random_scalar(self._rng)
        q_new = generator() * s_new
        s_serv_new = (s_new + self.msrp.msk * H5(q_new, self.msrp.pk_pub)) % Q
        group.epoch += 1
        group.s_serv, group.q_point = s_serv_new, q_new
        return [
            KeyUpdate(
                session,
                group.epoch,
                q_new,
                pid,
                ecc_enc.encrypt(
                    group.keys[pid],
                    scalar_to_bytes(s_serv_new),
                    update_aad(session, group.epoch, pid),
                    self._rng,
                ),
            )
            for pid in group.pids
        ]

    def replace_members(
        self, session: bytes, leaving: Sequence[bytes], joining: Sequence[bytes]
    ) -> list[GroupSetup]:
        """Join/replace (§8 item 29, default (a)): evict ``leaving``, admit pool-authenticated ``joining`` RNs
        and re-run GMA + GSKA over the new member set with a fresh polynomial and key (next epoch)."""
        group = self.sessions[session]
        if group.pids[0] in leaving:
            raise NotAllocatable("the User (Party_1) is never evicted")
        keys = {pid: group.keys[pid] for pid in group.pids if pid not in leaving}
        for pid in joining:
            if pid in keys or pid in group.evicted:
                raise NotAllocatable("a joining RN is already a member or was evicted")
            party_pid, pk = self._rn_party(pid)
            keys[party_pid] = pk
        pids = [pid for pid in group.pids if pid not in leaving] + list(joining)
        evicted = group.evicted | set(leaving)
        messages = self._deal(session, group.epoch + 1, pids, keys)
        self.sessions[session].evicted = evicted
        return messages


class GroupParty:
    """Party_i of a service group (the User or an RN)."""

    def __init__(self, pid: bytes, sk: int, pk_pub: Point, config: RSMSConfig | None = None) -> None:
        self.pid = pid
        self.sk = sk
        self.pk_pub = pk_pub
        self.config = config or RSMSConfig()
        self.session: bytes | None = None
        self.epoch = 0
        self.key: int | None = None
        self._reset()

    def _reset(self) -> None:
        self.pids: tuple[bytes, ...] = ()
        self.index = 0
        self._share = 0
        self._xs: list[int] = []
        self._lambdas: list[int] = []
        self._q = identity()
        self._key_check = b""
        self._points: dict[int, Point] = {}
        self._commitments: dict[int, Point] = {}
        self._dh: dict[int, Point] = {}
        self._shares: dict[int, int] = {}
        self.membership_verified = False

    # ---- GMA -------------------------------------------------------------------------------------------
    def on_setup(self, message: GroupSetup) -> tuple[PartyPoint, PartyPoint]:
        """GMA step 2 → 3, 4: decrypt f(x_i); answer f(x_i)·P and C_i = λ_i·f(x_i)·P (to all others)."""
        if message.recipient != self.pid or self.pid not in message.pids:
            raise UnauthorizedSender("set-up message for another party")
        if self.session == message.session and message.epoch <= self.epoch:
            raise OutOfOrder(f"stale set-up (epoch {message.epoch} ≤ {self.epoch})")
        if self.config.sign_group_setup:
            try:
                signature = schnorr.Signature.from_bytes(message.signature)
            except MalformedMessage as exc:
                raise UnauthorizedSender("set-up signature malformed") from exc
            if not schnorr.verify(self.pk_pub, message.signed_part(), signature):
                raise UnauthorizedSender("set-up not signed by the MSRP")
        try:
            share = scalar_from_bytes(
                ecc_enc.decrypt(
                    self.sk, message.enc_share, share_aad(message.session, message.epoch, self.pid)
                )
            )
        except (DecryptionFailed, ValueError) as exc:
            raise UnauthorizedSender("share does not decrypt under this party's key") from exc
        self._reset()
        self.session, self.epoch = message.session, message.epoch
        self.pids = message.pids
        self.index = message.pids.index(self.pid) + 1
        self._share = share
        self._xs = [H2(pid) for pid in message.pids]
        self._lambdas = shamir.lagrange_at_zero(self._xs)
        self._q = message.q_point
        self._key_check = message.key_check
        own_point = generator() * share
        commitment = own_point * self._lambdas[self.index - 1]
        self._points[self.index] = own_point
        self._commitments[self.index] = commitment
        return (
            PartyPoint(message.session, message.epoch, self.index, "share", own_point),
            PartyPoint(message.session, message.epoch, self.index, "lagrange", commitment),
        )

    def _check_peer(self, session: bytes, epoch: int, sender: int) -> None:
        if self.session is None or session != self.session or epoch != self.epoch:
            raise OutOfOrder("message of another session or epoch")
        if not 1 <= sender <= len(self.pids) or sender == self.index:
            raise UnauthorizedSender(f"sender {sender} is not another member of this group")

    def on_point(self, message: PartyPoint) -> None:
        """Receive f(x_j)·P (step 3) or C_j (step 4); C_j before f(x_j)·P is out of order."""
        self._check_peer(message.session, message.epoch, message.sender)
        store = self._points if message.kind == "share" else self._commitments
        if message.sender in store:
            raise OutOfOrder(f"duplicate {message.kind} point from party {message.sender}")
        if message.kind == "lagrange" and message.sender not in self._points:
            raise OutOfOrder("C_j before f(x_j)·P")
        store[message.sender] = message.point

    def verify_membership(self) -> None:
        """GMA step 5: ∑ C_i == Q over all N+1 parties."""
        if len(self._commitments) != len(self.pids):
            raise OutOfOrder("not every party's C_j has arrived")
        total = identity()
        for index in range(1, len(self.pids) + 1):
            total = total + self._commitments[index]
        if total != self._q:
            raise MembershipCheckFailed("∑ C_i ≠ Q: a share or a commitment is not the MSRP's")
        self.membership_verified = True

    # ---- GSKA ------------------------------------------------------------------------------------------
    def _mask(self, dh: Point, sender: int, receiver: int) -> bytes:
        if self.config.gska_mask == "paper":
            return hashlib.sha256(dh.to_bytes()).digest()
        assert self.session is not None
        data = encode(dh, self.session, self.epoch, self.pids[sender - 1], self.pids[receiver - 1])
        return hashlib.sha256(b"RSMS-GSKA" + data).digest()

    def _dh_with(self, index: int) -> Point:
        if index not in self._dh:
            self._dh[index] = self._points[index] * self._share
        return self._dh[index]

    def masked_shares(self) -> list[MaskedShare]:
        """GSKA step 1: ``mask(f(x_i)·f(x_j)·P) ⊕ f(x_i)`` to every other party j (N scalar mults)."""
        if not self.membership_verified or self.session is None:
            raise OutOfOrder("key agreement before membership authentication")
        own = scalar_to_bytes(self._share)
        return [
            MaskedShare(
                self.session, self.epoch, self.index, j, xor(self._mask(self._dh_with(j), self.index, j), own)
            )
            for j in range(1, len(self.pids) + 1)
            if j != self.index
        ]

    def on_masked_share(self, message: MaskedShare) -> None:
        self._check_peer(message.session, message.epoch, message.sender)
        if message.receiver != self.index:
            raise UnauthorizedSender("masked share for another party")
        if not self.membership_verified:
            raise OutOfOrder("masked share before membership authentication")
        if message.sender in self._shares:
            raise OutOfOrder(f"duplicate masked share from party {message.sender}")
        try:
            share = scalar_from_bytes(
                xor(self._mask(self._dh_with(message.sender), message.sender, self.index), message.masked)
            )
        except ValueError as exc:
            raise KeyConfirmationFailed("unmasked share is not a scalar: tampered") from exc
        self._shares[message.sender] = share

    def finish_key_agreement(self) -> int:
        """GSKA step 2: s' = ∑ λ_j f(x_j) over all N+1 shares; accept iff H4(s') == H4(s_serv)."""
        self._shares[self.index] = self._share
        if len(self._shares) != len(self.pids):
            raise OutOfOrder("not every party's masked share has arrived")
        secret = sum(lam * self._shares[i + 1] for i, lam in enumerate(self._lambdas)) % Q
        if scalar_to_bytes(H4(secret)) != self._key_check:
            raise KeyConfirmationFailed("H4(s') ≠ H4(s_serv): a share was tampered")
        self.key = secret
        return secret

    # ---- GSKU ------------------------------------------------------------------------------------------
    def on_key_update(self, message: KeyUpdate) -> int:
        """Accept s^new iff s^new·P == Q_new + H5(Q_new, PK_pub)·PK_pub (only msk's holder can make it)."""
        if message.recipient != self.pid or message.session != self.session:
            raise UnauthorizedSender("key update for another party or session")
        if message.epoch != self.epoch + 1:
            raise OutOfOrder(f"key update for epoch {message.epoch}, expected {self.epoch + 1}")
        try:
            s_new = scalar_from_bytes(
                ecc_enc.decrypt(
                    self.sk, message.enc_key, update_aad(message.session, message.epoch, self.pid)
                )
            )
        except (DecryptionFailed, ValueError) as exc:
            raise KeyUpdateRejected("update does not decrypt under this party's key") from exc
        if generator() * s_new != message.q_point + self.pk_pub * H5(message.q_point, self.pk_pub):
            raise KeyUpdateRejected("s^new·P ≠ Q + H5(Q, PK_pub)·PK_pub: not from the MSRP")
        self.epoch, self.key = message.epoch, s_new
        return s_new

    def channel(self) -> ServiceChannel:
        if self.key is None or self.session is None:
            raise OutOfOrder("no group session key yet")
        return ServiceChannel(self.key, self.session, self.epoch)


class ServiceChannel:
    """Service traffic of one epoch: AES-256-GCM under HKDF(s_serv, "RSMS-serv" ‖ session ‖ epoch)."""

    def __init__(self, key: int, session: bytes, epoch: int) -> None:
        self.session, self.epoch = session, epoch
        info = b"RSMS-serv" + session + epoch.to_bytes(4, "big")
        self._aead = AESGCM(HKDF(SHA256(), 32, salt=None, info=info).derive(scalar_to_bytes(key)))
        self._seen: set[bytes] = set()

    def seal(self, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        header = self.epoch.to_bytes(4, "big")
        return header + nonce + self._aead.encrypt(nonce, plaintext, self.session + header)

    def open(self, frame: bytes) -> bytes:
        """Decrypt a frame of this epoch; raises :class:`DecryptionFailed` for another key or epoch, tampering
        or a replayed frame."""
        if len(frame) < 32:
            raise DecryptionFailed("frame too short")
        header, nonce = frame[:4], frame[4:16]
        if int.from_bytes(header, "big") != self.epoch:
            raise DecryptionFailed("frame of another epoch")
        if nonce in self._seen:
            raise DecryptionFailed("replayed frame")
        try:
            plaintext = self._aead.decrypt(nonce, frame[16:], self.session + header)
        except InvalidTag as exc:
            raise DecryptionFailed("frame does not decrypt under this group key") from exc
        self._seen.add(nonce)
        return plaintext


def run_group_round(parties: Sequence[GroupParty], setups: Sequence[GroupSetup]) -> list[int]:
    """Deliver a whole GMA + GSKA round among honest parties (for tests, the bench and the demo)."""
    by_pid = {party.pid: party for party in parties}
    outgoing: list[PartyPoint] = []
    for setup in setups:
        outgoing.extend(by_pid[setup.recipient].on_setup(setup))
    for message in sorted(outgoing, key=lambda m: m.kind != "share"):
        for party in parties:
            if party.index != message.sender:
                party.on_point(message)
    for party in parties:
        party.verify_membership()
    by_index = {party.index: party for party in parties}
    masked = [share for party in parties for share in party.masked_shares()]
    for share in masked:
        by_index[share.receiver].on_masked_share(share)
    return [party.finish_key_agreement() for party in parties]
