"""Pool authentication of RSMS (spec 002 §3.1–3.4): the MSRP, RPM, RN and User state machines.

Pure protocol: no I/O. Each method takes a decoded message and returns the messages to send, or raises a
named :mod:`~offchain.resource_auth.errors` rejection. The ledger is any :class:`Ledger` (in memory for the
tests and the bench, ``RSMSLedger`` on chain for the agents).

Credential lifecycle (k starts at 1; §3.3): setup issues (a_1, PID_1 = H1(PK_pub ⊕ RID)) and puts a_1 in
the pool's Bloom filter; initial authentication consumes a_1 and records (H4(a_1), PID_1); each
re-authentication proves H4(a_k), reveals a_{k+1} = H4(a_k, sk_RN) and records (H4(a_{k+1}), PID_{k+1})
with PID_{k+1} = H6(PID_k, a_{k+1}). The MSRP advances its record only after verifying and recording; the
RN only after verifying A, so an interrupted run is retried with the same k (§8 item 17).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from offchain.resource_auth import ecc_enc, schnorr
from offchain.resource_auth.bloom import BloomFilter, SignedBloom, signed_message
from offchain.resource_auth.config import RSMSConfig
from offchain.resource_auth.errors import (
    BloomSignatureInvalid,
    DecryptionFailed,
    MalformedMessage,
    NotPreviouslyAuthenticated,
    OutOfOrder,
    PseudonymMismatch,
    PseudonymReused,
    ReplayDetected,
    RevokedNode,
    RPMAuthenticationFailed,
    SecretMismatch,
    UnauthorizedSender,
    UnknownSecret,
)
from offchain.resource_auth.group import (
    POINT_BYTES,
    SCALAR_BYTES,
    Point,
    Q,
    generator,
    inverse,
    random_scalar,
    scalar_from_bytes,
    scalar_to_bytes,
)
from offchain.resource_auth.hashes import H1, H2, H3, H4, H6, mask_rid, tag_bytes, xor
from offchain.resource_auth.ledger_api import Ledger
from offchain.resource_auth.messages import (
    KIND_INIT,
    KIND_REAUTH,
    AuthAck,
    AuthReport,
    AuthResponse,
    InitialAuthRequest,
    ReauthRequest,
)

UNSIGNED = bytes(schnorr.SIGNATURE_BYTES)


@dataclass(frozen=True)
class PublicParams:
    """``params = {q, p, G, P, PK_pub, H1..H6}``: group and hashes are fixed by the code; PK_pub varies."""

    pk_pub: Point


@dataclass(frozen=True)
class RPMDirectoryEntry:
    """What an RN needs to address RPM^X (§8 item 10): published by the MSRP (params file or on chain)."""

    pool_id: int
    pk_rpm: Point
    pid_rpm: bytes


@dataclass(frozen=True)
class RPMCredentials:
    pool_id: int
    sk: int
    pk: Point
    pid: bytes


@dataclass(frozen=True)
class RNCredentials:
    pool_id: int
    sk: int
    pk: Point
    a: int
    pid: bytes


@dataclass(frozen=True)
class UserCredentials:
    sk: int
    pk: Point
    pid: bytes


@dataclass
class RNRecord:
    """The MSRP's record of one RN (§3.1.3 item 4): the next expected (a_k, PID_k) and the history."""

    rid: bytes
    sk: int
    pk: Point
    pool_id: int
    a: int
    pid: bytes
    k: int = 1
    authenticated: bool = False
    last_pid: bytes | None = None
    revoked: bool = False
    flagged: bool = False
    history: list[bytes] = field(default_factory=list)


def pid_of_point(point: Point) -> bytes:
    return point.to_bytes()


def effective_rpm_key(entry: RPMDirectoryEntry, pk_pub: Point) -> Point:
    """``PK_RPM + H2(PID_RPM)·PK_pub`` = sk_RPM·P: the RPM's implicitly certified public key."""
    return entry.pk_rpm + pk_pub * H2(entry.pid_rpm)


def registration_request(pk_pub: Point, rid: bytes, rng: random.Random | None = None) -> bytes:
    """``Enc_PK_pub(RID)``: how an RPM, RN or User sends its real identity to the MSRP."""
    return ecc_enc.encrypt(pk_pub, rid, b"RSMS-register", rng)


class MSRP:
    """The fully trusted provider (§3.1.1): master keys, registration, Bloom filters, the ledger writer."""

    def __init__(self, ledger: Ledger, config: RSMSConfig | None = None, rng: random.Random | None = None):
        self.config = config or RSMSConfig()
        self.ledger = ledger
        self._rng = rng
        self.msk = random_scalar(rng)
        self.pk_pub = generator() * self.msk
        self._blooms: dict[int, BloomFilter] = {}
        self._outbox: dict[int, list[SignedBloom]] = {}
        self._rpms: dict[int, RPMCredentials] = {}
        self._rpm_keys: dict[int, Point] = {}  # each RPM's report-verifying key PK_RPM + H2(PID_RPM)·PK_pub
        self.rns: dict[bytes, RNRecord] = {}
        self.users: dict[bytes, UserCredentials] = {}
        self._batches: dict[int, int] = {}  # Bloom batches anchored per pool
        self._expected: dict[bytes, bytes] = {}  # next expected PID -> RID
        self._trace: dict[bytes, bytes] = {}  # every PID ever issued -> RID
        self._recorded: dict[bytes, bytes] = {}  # last recorded PID of each authenticated RN -> RID

    @property
    def params(self) -> PublicParams:
        return PublicParams(self.pk_pub)

    def _rid(self, enc_rid: bytes) -> bytes:
        try:
            return ecc_enc.decrypt(self.msk, enc_rid, b"RSMS-register")
        except DecryptionFailed as exc:
            raise MalformedMessage("registration request does not decrypt under msk") from exc

    def _pid1(self, rid: bytes) -> bytes:
        return pid_of_point(H1(mask_rid(self.pk_pub, rid)))

    # ---- setup ---------------------------------------------------------------------------------------
    def register_rpm(self, pool_id: int, enc_rid: bytes) -> RPMCredentials:
        """RPM Setup (§3.1.2): sk_RPM = d + msk·H2(PID_RPM), PK_RPM = d·P, PID_RPM = H1(PK_pub ⊕ RID)."""
        rid = self._rid(enc_rid)
        d = random_scalar(self._rng)
        pid = self._pid1(rid)
        credentials = RPMCredentials(pool_id, (d + self.msk * H2(pid)) % Q, generator() * d, pid)
        self._rpms[pool_id] = credentials
        self._rpm_keys[pool_id] = credentials.pk + self.pk_pub * H2(pid)
        self._blooms.setdefault(pool_id, BloomFilter.init(self.config.bf_batch_size, self.config.epsilon))
        return credentials

    def directory(self, pool_id: int) -> RPMDirectoryEntry:
        rpm = self._rpms[pool_id]
        return RPMDirectoryEntry(pool_id, rpm.pk, rpm.pid)

    def register_rn(self, pool_id: int, enc_rid: bytes) -> RNCredentials:
        """RN Setup (§3.1.3): (sk, PK), a_1 into BF^X, PID_1 = H1(PK_pub ⊕ RID); the MSRP keeps the record."""
        if pool_id not in self._rpms:
            raise UnauthorizedSender(f"pool {pool_id} has no RPM")
        rid = self._rid(enc_rid)
        if rid in self.rns:
            raise ReplayDetected("this RID is already registered")
        sk = random_scalar(self._rng)
        a = random_scalar(self._rng)
        pid = self._pid1(rid)
        record = RNRecord(rid, sk, generator() * sk, pool_id, a, pid, history=[pid])
        self.rns[rid] = record
        self._expected[pid] = rid
        self._trace[pid] = rid
        bloom = self._blooms[pool_id]
        bloom.insert(scalar_to_bytes(a))
        if bloom.count >= self.config.bf_batch_size:
            self.flush_bloom(pool_id)
        return RNCredentials(pool_id, sk, record.pk, a, pid)

    def register_user(self, enc_rid: bytes) -> UserCredentials:
        """User Register (§3.4): (sk, PK, PID = H1(PK_pub ⊕ RID)), kept by the MSRP (key escrow, as paper)."""
        rid = self._rid(enc_rid)
        sk = random_scalar(self._rng)
        credentials = UserCredentials(sk, generator() * sk, self._pid1(rid))
        self.users[credentials.pid] = credentials
        self._trace[credentials.pid] = rid
        return credentials

    def flush_bloom(self, pool_id: int) -> SignedBloom | None:
        """Close the pool's current batch: sign it, anchor its digest on the ledger, start a new filter."""
        bloom = self._blooms[pool_id]
        if bloom.count == 0:
            return None
        filter_bytes = bloom.to_bytes()
        if pool_id not in self._batches:  # a ledger kept from earlier runs may hold versions of this pool
            anchored = 0
            while self.ledger.bloom_digest_at(pool_id, anchored + 1) is not None:
                anchored += 1
            self._batches[pool_id] = anchored
        version = self._batches[pool_id] + 1  # the ledger's next version; the signature binds it
        message = signed_message(pool_id, version, filter_bytes)
        signed = SignedBloom(
            pool_id, version, filter_bytes, schnorr.sign(self.msk, self.pk_pub, message, self._rng).to_bytes()
        )
        anchored = self.ledger.anchor_bloom_digest(pool_id, signed.digest())
        if anchored != version:
            raise OutOfOrder(f"ledger assigned Bloom version {anchored}, expected {version}")
        self._batches[pool_id] = version
        self._outbox.setdefault(pool_id, []).append(signed)
        self._blooms[pool_id] = BloomFilter.init(self.config.bf_batch_size, self.config.epsilon)
        return signed

    def deliver_blooms(self, pool_id: int) -> list[SignedBloom]:
        """The batches not yet handed to RPM^X (over the secure channel)."""
        return self._outbox.pop(pool_id, [])

    # ---- authentication post-processing (§3.2 "MSRP", §3.3) ------------------------------------------
    def handle_report(self, report: AuthReport) -> AuthAck:
        """Verify the RPM's report, check a' against the RN's current a_k, record (H4(a_k), PID_k) on the
        ledger exactly once (atomic check-and-set) and advance the chain; else raise and write nothing."""
        record = self._check_report(report)
        index = self.ledger.record_authentication(report.pool_id, tag_bytes(record.a), record.pid)
        return self._commit(record, report, index)

    def approve_report(self, report: AuthReport) -> tuple[bytes, bytes]:
        """The checks of :meth:`handle_report` without writing: the RPM itself then records the returned
        ``(H4(a), PID)`` on the ledger (on chain, as the pool's manager) and calls :meth:`confirm_report`.
        Two RPMs may both be approved for one RN (a clone racing at two pools): the ledger's atomic
        check-and-set lets only one record, and only that one is confirmed."""
        record = self._check_report(report)
        return tag_bytes(record.a), record.pid

    def confirm_report(self, report: AuthReport) -> AuthAck:
        """After the RPM recorded: check the report again, require its record ``(H4(a), PID)`` of this pool
        on the ledger, then advance the RN's chain and acknowledge (raises :class:`OutOfOrder` when the
        record is missing)."""
        record = self._check_report(report)
        tag = tag_bytes(record.a)
        if self.ledger.tag_of_pseudonym(record.pid) != tag:
            raise OutOfOrder("the RPM has not recorded this authentication on the ledger")
        for entry in reversed(self.ledger.records()):
            if entry.tag == tag and entry.pid == record.pid and entry.pool_id == report.pool_id:
                return self._commit(record, report, entry.index)
        raise OutOfOrder(f"the ledger's record of this authentication is not pool {report.pool_id}'s")

    def _check_report(self, report: AuthReport) -> RNRecord:
        rpm = self._rpms.get(report.pool_id)
        if rpm is None:
            raise UnauthorizedSender(f"no RPM manages pool {report.pool_id}")
        if self.config.sign_reports:
            verifying_key = self._rpm_keys[report.pool_id]
            try:
                signature = schnorr.Signature.from_bytes(report.signature)
            except MalformedMessage as exc:
                raise UnauthorizedSender("report signature malformed") from exc
            if not schnorr.verify(verifying_key, report.signed_part(), signature):
                raise UnauthorizedSender(f"report not signed by the RPM of pool {report.pool_id}")
        aad = report_aad(report.kind, report.pool_id)
        try:
            plain = ecc_enc.decrypt(self.msk, report.ciphertext, aad)
        except DecryptionFailed as exc:
            raise UnauthorizedSender("report ciphertext does not decrypt under msk") from exc
        try:
            a_reported = scalar_from_bytes(plain[:SCALAR_BYTES])
        except ValueError as exc:
            raise MalformedMessage("report carries no scalar") from exc
        if report.kind == KIND_INIT and plain[SCALAR_BYTES:] != report.pid:
            raise MalformedMessage("initial report: encrypted PID differs from the clear one")
        rid = self._expected.get(report.pid)
        if rid is None:
            if self.ledger.is_pid_used(report.pid):
                raise ReplayDetected("this pseudonym's authentication is already on the ledger")
            raise SecretMismatch("no RN expects this pseudonym next")
        record = self.rns[rid]
        if record.revoked:
            raise RevokedNode("the RN is revoked")
        if (report.kind == KIND_INIT) == record.authenticated:
            raise OutOfOrder("initial report for an authenticated RN, or re-auth report before initial")
        if a_reported != record.a:
            record.flagged = True
            raise SecretMismatch("reported one-time secret is not the RN's current one; RN flagged")
        return record

    def _commit(self, record: RNRecord, report: AuthReport, index: int) -> AuthAck:
        rid = record.rid
        a_next = H4(record.a, record.sk)
        pid_next = scalar_to_bytes(H6(record.pid, a_next))
        del self._expected[record.pid]
        if record.last_pid is not None:
            self._recorded.pop(record.last_pid, None)
        self._recorded[record.pid] = rid
        record.last_pid, record.a, record.pid = record.pid, a_next, pid_next
        record.k += 1
        record.authenticated = True
        record.pool_id = report.pool_id
        record.history.append(pid_next)
        self._expected[pid_next] = rid
        self._trace[pid_next] = rid
        ack = AuthAck(report.pool_id, report.pid, index, UNSIGNED)
        signature = schnorr.sign(self.msk, self.pk_pub, ack.signed_part(), self._rng)
        return AuthAck(report.pool_id, report.pid, index, signature.to_bytes())

    # ---- revocation and tracing (§8 items 40, P6) -----------------------------------------------------
    def revoke_rn(self, rid: bytes) -> None:
        """Revoke an RN: its last recorded and next pseudonyms are flagged on the ledger; its chain stops."""
        record = self.rns[rid]
        record.revoked = True
        for pid in (record.last_pid, record.pid):
            if pid is not None and not self.ledger.is_revoked(pid):
                self.ledger.revoke(pid)

    def trace(self, pid: bytes) -> bytes:
        """The RID behind a pseudonym (only the MSRP can do this)."""
        rid = self._trace.get(pid)
        if rid is None:
            raise KeyError("unknown pseudonym")
        return rid

    def authenticated_pids(self) -> list[bytes]:
        """The last recorded pseudonym of every pool-authenticated RN, in order of authentication."""
        return list(self._recorded)

    def rid_of_current_pid(self, pid: bytes) -> bytes | None:
        """The RN whose last recorded pseudonym is ``pid`` (how groups address pool-authenticated RNs)."""
        return self._recorded.get(pid)


def report_aad(kind: int, pool_id: int) -> bytes:
    return b"RSMS-report" + bytes([kind]) + pool_id.to_bytes(4, "big")


@dataclass
class _Pending:
    pid: bytes
    tag: bytes | None  # initial authentication: H4(a'), also held in _pending_tags against replays
    secret: int  # the revealed one-time secret (a' or a_{k+1}); the ledger record's tag is H4(secret)
    response: AuthResponse


class RPM:
    """A resource-pool manager (§3.2 step 2–3, §3.3 step 2–3)."""

    def __init__(
        self,
        credentials: RPMCredentials,
        params: PublicParams,
        ledger: Ledger,
        config: RSMSConfig | None = None,
        rng: random.Random | None = None,
    ):
        self.credentials = credentials
        self.params = params
        self.ledger = ledger
        self.config = config or RSMSConfig()
        self._rng = rng
        self._sk_inverse = inverse(credentials.sk)  # Remark 1: precomputed
        self._verifying_key = credentials.pk + params.pk_pub * H2(credentials.pid)  # = sk·P, for reports
        self._blooms: list[BloomFilter] = []
        self._pending: dict[bytes, _Pending] = {}  # consumed PID -> pending admission
        self._pending_tags: set[bytes] = set()
        self.members: set[bytes] = set()  # pseudonyms admitted to the pool

    @property
    def pool_id(self) -> int:
        return self.credentials.pool_id

    def install_bloom(self, signed: SignedBloom) -> None:
        """Accept a Bloom batch only if it is this pool's, MSRP-signed and its digest is on the ledger."""
        if signed.pool_id != self.pool_id:
            raise BloomSignatureInvalid(f"batch for pool {signed.pool_id}, this is pool {self.pool_id}")
        bloom = signed.open(self.params.pk_pub)
        if self.ledger.bloom_digest_at(self.pool_id, signed.batch) != signed.digest():
            raise BloomSignatureInvalid(f"batch {signed.batch} digest is not anchored on the ledger")
        self._blooms.append(bloom)

    def _report(self, kind: int, pid: bytes, plaintext: bytes) -> AuthReport:
        ciphertext = ecc_enc.encrypt(self.params.pk_pub, plaintext, report_aad(kind, self.pool_id), self._rng)
        unsigned = AuthReport(kind, self.pool_id, pid, ciphertext, UNSIGNED)
        if not self.config.sign_reports:
            return unsigned
        signature = schnorr.sign(self.credentials.sk, self._verifying_key, unsigned.signed_part(), self._rng)
        return AuthReport(kind, self.pool_id, pid, ciphertext, signature.to_bytes())

    def _admit(self, pid: bytes, tag: bytes | None, a: int) -> AuthResponse | None:
        response = AuthResponse(generator() * a)
        if tag is not None:
            self._pending_tags.add(tag)
        if self.config.admission == "optimistic":
            self.members.add(pid)
            return response
        self._pending[pid] = _Pending(pid, tag, a, response)
        return None

    def record_pending(self, pid: bytes) -> int:
        """Strict mode, RPM-written ledger: record the pending admission's ``(H4(a), PID)`` on this RPM's
        ledger (on chain: as the pool's manager) after the MSRP approved it; returns the record's index.

        The ledger's check-and-set refuses a replay or a clone that won at another pool with
        :class:`ReplayDetected` / :class:`PseudonymReused` / :class:`RevokedNode`."""
        pending = self._pending.get(pid)
        if pending is None:
            raise OutOfOrder("no pending authentication for this pseudonym")
        tag = pending.tag if pending.tag is not None else tag_bytes(pending.secret)
        return self.ledger.record_authentication(self.pool_id, tag, pid)

    def handle_initial(self, request: InitialAuthRequest) -> tuple[AuthReport, AuthResponse | None]:
        """§3.2 step 2–3: recover a', reject a used tag or a secret outside the pool's filters, report to the
        MSRP and answer A = a'·P (at once in optimistic mode; after :meth:`on_ack` in strict mode)."""
        u_point = request.c1 * self._sk_inverse
        try:
            a = scalar_from_bytes(xor(H3(u_point, request.pid, SCALAR_BYTES), request.c2))
        except ValueError as exc:
            raise UnknownSecret("recovered value is not a scalar: wrong key or tampered c") from exc
        if self.ledger.is_revoked(request.pid):
            raise RevokedNode("pseudonym revoked on the ledger")
        tag = tag_bytes(a)
        if tag in self._pending_tags or self.ledger.is_tag_used(tag):
            raise ReplayDetected("H4(a') is already on the ledger: this one-time secret was used")
        encoded = scalar_to_bytes(a)
        if not any(bloom.check(encoded) for bloom in self._blooms):
            raise UnknownSecret("a' is in no Bloom filter of this pool")
        report = self._report(KIND_INIT, request.pid, encoded + request.pid)
        return report, self._admit(request.pid, tag, a)

    def handle_reauth(self, request: ReauthRequest) -> tuple[AuthReport, AuthResponse | None]:
        """§3.3 step 2–3: recover (H4(a_k), a_{k+1}); PID_{k+1} must be fresh and H4(a_k) on the ledger."""
        fresh = request.pid_next not in self._pending and request.pid_next not in self.members
        if not fresh or self.ledger.is_pid_used(request.pid_next):
            raise PseudonymReused("PID_{k+1} is already on the ledger")
        w_point = request.c1 * self._sk_inverse
        plain = xor(H3(w_point, request.pid or request.pid_next, len(request.c2)), request.c2)
        tag, a_next_bytes = plain[:SCALAR_BYTES], plain[SCALAR_BYTES : 2 * SCALAR_BYTES]
        pid = request.pid
        if request.hidden:  # PID_k travels inside c2, zero-padded to 48 bytes
            length, rest = plain[2 * SCALAR_BYTES], plain[2 * SCALAR_BYTES + 1 :]
            pid, padding = rest[:length], rest[length:]
            if length not in (SCALAR_BYTES, POINT_BYTES) or padding.strip(b"\x00"):
                raise NotPreviouslyAuthenticated("hidden PID_k does not decode: wrong key or tampered c")
        if self.ledger.is_revoked(pid) or self.ledger.is_revoked(request.pid_next):
            raise RevokedNode("pseudonym revoked on the ledger")
        if not self.ledger.is_tag_used(tag):
            raise NotPreviouslyAuthenticated(
                "H4(a_k) is not on the ledger: wrong key, tampered or never joined"
            )
        if self.config.bind_pid_to_tag and self.ledger.tag_of_pseudonym(pid) != tag:
            raise PseudonymMismatch("the ledger's record of H4(a_k) is not PID_k's")
        try:
            a_next = scalar_from_bytes(a_next_bytes)
        except ValueError as exc:
            raise PseudonymMismatch("recovered a_{k+1} is not a scalar") from exc
        if self.config.check_pid_chain and scalar_to_bytes(H6(pid, a_next)) != request.pid_next:
            raise PseudonymMismatch("PID_{k+1} ≠ H6(PID_k, a_{k+1})")
        report = self._report(KIND_REAUTH, request.pid_next, a_next_bytes)
        return report, self._admit(request.pid_next, None, a_next)

    def on_ack(self, ack: AuthAck) -> AuthResponse:
        """Strict mode: the MSRP recorded the authentication; release A to the RN and admit it."""
        message = ack.signed_part()
        if not schnorr.verify(self.params.pk_pub, message, schnorr.Signature.from_bytes(ack.signature)):
            raise UnauthorizedSender("acknowledgement not signed by the MSRP")
        pending = self._pending.pop(ack.pid, None)
        if pending is None:
            raise OutOfOrder("no pending authentication for this pseudonym")
        self.members.add(ack.pid)
        return pending.response

    def on_reject(self, pid: bytes) -> None:
        """The MSRP refused the report: drop the pending admission (strict) or evict the RN (optimistic)."""
        self._pending.pop(pid, None)
        self.members.discard(pid)


class ResourceNode:
    """An RN (§3.2 step 1 and 4, §3.3 step 1 and 4)."""

    def __init__(
        self,
        credentials: RNCredentials,
        params: PublicParams,
        rng: random.Random | None = None,
        config: RSMSConfig | None = None,
    ):
        self.credentials = credentials
        self.params = params
        self.config = config or RSMSConfig()
        self._rng = rng
        self.a = credentials.a
        self.pid = credentials.pid
        self.k = 1
        self.pool_id: int | None = None
        self.authenticated = False
        self._pending: tuple[str, int, int, bytes] | None = None  # (kind, pool, secret, pid)

    @property
    def sk(self) -> int:
        return self.credentials.sk

    def start_initial(self, rpm: RPMDirectoryEntry) -> InitialAuthRequest:
        """c1 = u·(PK_RPM + H2(PID_RPM)·PK_pub), c2 = H3(U, PID_k) ⊕ a_k."""
        if self.authenticated:
            raise OutOfOrder("already authenticated: move pools with re-authentication")
        u = random_scalar(self._rng)
        u_point = generator() * u
        c1 = effective_rpm_key(rpm, self.params.pk_pub) * u
        c2 = xor(H3(u_point, self.pid, SCALAR_BYTES), scalar_to_bytes(self.a))
        self._pending = ("init", rpm.pool_id, self.a, self.pid)
        return InitialAuthRequest(c1, c2, self.pid)

    def start_reauth(self, rpm: RPMDirectoryEntry) -> ReauthRequest:
        """a_{k+1} = H4(a_k, sk), PID_{k+1} = H6(PID_k, a_{k+1}), c2 =
        H3(W, PID_k) ⊕ (H4(a_k) ‖ a_{k+1})."""
        if not self.authenticated:
            raise OutOfOrder("re-authentication needs a completed initial authentication")
        a_next = H4(self.a, self.sk)
        pid_next = scalar_to_bytes(H6(self.pid, a_next))
        w = random_scalar(self._rng)
        w_point = generator() * w
        c1 = effective_rpm_key(rpm, self.params.pk_pub) * w
        plain = tag_bytes(self.a) + scalar_to_bytes(a_next)
        self._pending = ("reauth", rpm.pool_id, a_next, pid_next)
        if self.config.hide_previous_pid:
            plain += bytes([len(self.pid)]) + self.pid.ljust(POINT_BYTES, b"\x00")
            return ReauthRequest(c1, xor(H3(w_point, pid_next, len(plain)), plain), b"", pid_next)
        return ReauthRequest(c1, xor(H3(w_point, self.pid, len(plain)), plain), self.pid, pid_next)

    def finish(self, response: AuthResponse) -> None:
        """Check a·P == A (the RPM proved it holds sk_RPM); then join the pool and advance the chain."""
        if self._pending is None:
            raise OutOfOrder("no authentication in progress")
        kind, pool_id, secret, pid = self._pending
        if generator() * secret != response.a_point:
            raise RPMAuthenticationFailed("a·P ≠ A: the responder does not hold sk_RPM")
        self._pending = None
        if kind == "reauth":
            self.a, self.pid = secret, pid
            self.k += 1
        self.authenticated = True
        self.pool_id = pool_id
