"""RSMS pool authentication (spec 002 §3.1–3.4; R6–R15, R22; security claims P2–P7, T1 of §6.2)."""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading

import pytest

from offchain.resource_auth import schnorr
from offchain.resource_auth.bloom import BloomFilter, SignedBloom
from offchain.resource_auth.config import RSMSConfig
from offchain.resource_auth.costs import count
from offchain.resource_auth.errors import (
    BloomSignatureInvalid,
    MalformedMessage,
    NotPreviouslyAuthenticated,
    OutOfOrder,
    PseudonymMismatch,
    PseudonymReused,
    Rejected,
    ReplayDetected,
    RevokedNode,
    RPMAuthenticationFailed,
    SecretMismatch,
    UnauthorizedSender,
    UnknownSecret,
)
from offchain.resource_auth.flows import World
from offchain.resource_auth.group import Q, generator, random_scalar, scalar_from_bytes, scalar_to_bytes
from offchain.resource_auth.hashes import H1, H2, H3, H4, H6, mask_rid, tag_bytes, xor
from offchain.resource_auth.ledger_api import InMemoryLedger
from offchain.resource_auth.messages import (
    KIND_INIT,
    AuthReport,
    AuthResponse,
    InitialAuthRequest,
    ReauthRequest,
)
from offchain.resource_auth.parties import ResourceNode, RNCredentials


@pytest.fixture
def world() -> World:
    return World.create(pools=3)


def test_setup_relations(world: World) -> None:
    msrp = world.msrp
    assert msrp.pk_pub == generator() * msrp.msk
    rpm = world.rpms[1].credentials
    assert generator() * rpm.sk == rpm.pk + msrp.pk_pub * H2(rpm.pid)  # R7: implicit certificate
    assert rpm.pid == H1(mask_rid(msrp.pk_pub, b"rpm-1")).to_bytes()
    rn = world.register_rn(1, b"rn-alpha")
    assert rn.credentials.pk == generator() * rn.sk
    assert rn.pid == H1(mask_rid(msrp.pk_pub, b"rn-alpha")).to_bytes()
    record = msrp.rns[b"rn-alpha"]
    assert (record.a, record.pid, record.k) == (rn.a, rn.pid, 1)
    user = world.register_user(b"alice")
    assert user.pk == generator() * user.sk
    assert user.pid == H1(mask_rid(msrp.pk_pub, b"alice")).to_bytes()


def test_bloom_batches_by_count_and_flush() -> None:
    world = World.create(pools=1, config=RSMSConfig(bf_batch_size=3))
    nodes = [world.register_rn(1, f"rn-{i}".encode(), flush=False) for i in range(4)]
    batches = world.msrp.deliver_blooms(1)  # the third registration closed batch 1
    assert [b.batch for b in batches] == [1]
    for signed in batches:
        world.rpms[1].install_bloom(signed)
    for rn in nodes[:3]:
        world.initial_auth(rn, 1)
    with pytest.raises(UnknownSecret):  # its batch is not delivered yet
        world.initial_auth(nodes[3], 1)
    world.deliver_blooms(1)
    world.initial_auth(nodes[3], 1)
    assert world.ledger.bloom_digest_at(1, 2) is not None


def test_initial_authentication_honest(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    a1, pid1 = rn.a, rn.pid
    world.initial_auth(rn, 1)
    assert rn.authenticated
    assert rn.pool_id == 1
    records = world.ledger.records()
    assert [(r.tag, r.pid) for r in records] == [(tag_bytes(a1), pid1)]  # the consumed pair (§8 item 14)
    record = world.msrp.rns[b"rn-1"]
    assert record.a == H4(a1, rn.sk)
    assert record.pid == scalar_to_bytes(H6(pid1, record.a))
    assert pid1 in world.rpms[1].members


def test_replayed_initial_request_is_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    rpm = world.rpms[1]
    report, _ = rpm.handle_initial(request)
    with pytest.raises(ReplayDetected):  # still pending at this RPM
        rpm.handle_initial(request)
    ack = world.msrp.handle_report(report)
    rn.finish(rpm.on_ack(ack))
    with pytest.raises(ReplayDetected):  # now on the ledger
        rpm.handle_initial(request)
    with pytest.raises(ReplayDetected):  # the MSRP's report replayed
        world.msrp.handle_report(report)


@pytest.mark.parametrize("field", ["c1", "c2", "pid"])
def test_tampered_initial_request_is_rejected(world: World, field: str) -> None:
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    if field == "c1":
        tampered = dataclasses.replace(request, c1=request.c1 + generator())
    elif field == "c2":
        tampered = dataclasses.replace(request, c2=xor(request.c2, bytes(31) + b"\x01"))
    else:
        tampered = dataclasses.replace(request, pid=bytes([request.pid[0]]) + bytes(47))
    with pytest.raises(UnknownSecret):
        world.rpms[1].handle_initial(tampered)
    assert world.ledger.records() == []


def test_malformed_bytes_are_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    data = rn.start_initial(world.msrp.directory(1)).to_bytes()
    with pytest.raises(MalformedMessage):
        InitialAuthRequest.from_bytes(data[:-1])
    with pytest.raises(MalformedMessage):
        InitialAuthRequest.from_bytes(data + b"\x00")
    with pytest.raises(MalformedMessage):
        InitialAuthRequest.from_bytes(bytes(48) + data[48:])
    with pytest.raises(MalformedMessage):
        AuthResponse.from_bytes(b"\x01" * 48)


def test_request_to_the_wrong_rpm_is_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    with pytest.raises(UnknownSecret):
        world.rpms[2].handle_initial(request)
    # an RN registered in pool 1 must not initial-authenticate at pool 2 (§8 item 39)
    request = rn.start_initial(world.msrp.directory(2))
    with pytest.raises(UnknownSecret):
        world.rpms[2].handle_initial(request)


def test_unregistered_rn_is_rejected(world: World) -> None:
    world.register_rn(1, b"rn-honest")
    fake = RNCredentials(1, random_scalar(), generator(), random_scalar(), H1(b"x").to_bytes())
    impostor = ResourceNode(fake, world.msrp.params)
    with pytest.raises(UnknownSecret):
        world.initial_auth(impostor, 1)


def test_rn_rejects_an_rpm_without_sk_and_a_tampered_answer(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    wrong_sk = (world.rpms[1].credentials.sk + 1) % Q
    u_point = request.c1 * pow(wrong_sk, -1, Q)
    guessed = int.from_bytes(xor(H3(u_point, request.pid, 32), request.c2), "big") % Q
    with pytest.raises(RPMAuthenticationFailed):
        rn.finish(AuthResponse(generator() * guessed))
    report, _ = world.rpms[1].handle_initial(request)
    response = world.rpms[1].on_ack(world.msrp.handle_report(report))
    with pytest.raises(RPMAuthenticationFailed):
        rn.finish(AuthResponse(response.a_point + generator()))
    rn.finish(response)  # the genuine answer still works: the RN did not advance on failure
    assert rn.authenticated


def test_report_from_the_wrong_party_is_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    report, _ = world.rpms[1].handle_initial(request)
    # pool 2's RPM (or the RN) pretends to be pool 1's: signature does not verify
    forged_signature = world.rpms[2]._report(KIND_INIT, report.pid, b"\x00" * 32 + report.pid).signature
    with pytest.raises(UnauthorizedSender):
        world.msrp.handle_report(dataclasses.replace(report, signature=forged_signature))
    with pytest.raises(UnauthorizedSender):
        world.msrp.handle_report(dataclasses.replace(report, pool_id=2))
    with pytest.raises(UnauthorizedSender):
        world.msrp.handle_report(dataclasses.replace(report, pool_id=9))
    assert AuthReport.from_bytes(report.to_bytes()) == report
    assert world.ledger.records() == []


def test_msrp_rejects_a_wrong_secret_and_flags_the_rn(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    wrong = scalar_to_bytes(random_scalar())
    report = world.rpms[1]._report(KIND_INIT, rn.pid, wrong + rn.pid)
    with pytest.raises(SecretMismatch):
        world.msrp.handle_report(report)
    assert world.ledger.records() == []
    assert world.msrp.rns[b"rn-1"].flagged


def test_bloom_false_positives_never_admit_in_strict_mode() -> None:
    """T1: a forged secret passes the RPM's Bloom check with probability ≈ 2^-ε; the MSRP then refuses it."""
    world = World.create(pools=1, config=RSMSConfig(epsilon=3, bf_batch_size=8))
    for i in range(8):
        world.register_rn(1, f"rn-{i}".encode(), flush=False)
    world.deliver_blooms(1)
    rpm = world.rpms[1]
    entry = world.msrp.directory(1)
    passed = refused = 0
    trials = 400
    for _ in range(trials):
        fake = RNCredentials(1, random_scalar(), generator(), random_scalar(), H1(b"f").to_bytes())
        forged = ResourceNode(fake, world.msrp.params).start_initial(entry)
        try:
            report, response = rpm.handle_initial(forged)
        except UnknownSecret:
            continue
        passed += 1
        assert response is None  # strict: no answer before the MSRP's verdict
        with pytest.raises(SecretMismatch):
            world.msrp.handle_report(report)
        rpm.on_reject(report.pid)
        refused += 1
    assert 0 < passed < trials * 0.35  # 2^-3 = 12.5 % nominal
    assert refused == passed
    assert rpm.members == set()
    assert world.ledger.records() == []


def test_optimistic_mode_admits_first_then_evicts() -> None:
    world = World.create(pools=1, config=RSMSConfig().paper())
    rn = world.register_rn(1, b"rn-1")
    request = rn.start_initial(world.msrp.directory(1))
    report, response = world.rpms[1].handle_initial(request)
    assert response is not None  # Remark 1: A is sent at once
    assert rn.pid in world.rpms[1].members
    rn.finish(response)
    world.msrp.handle_report(report)
    assert len(world.ledger.records()) == 1


def test_reauthentication_across_pools_x_y_z_x(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    world.initial_auth(rn, 1)
    for pool in (2, 3, 1):  # pools 2 and 3 hold no Bloom entry for this RN
        world.reauth(rn, pool)
        assert rn.pool_id == pool
    assert rn.k == 4
    pids = [r.pid for r in world.ledger.records()]
    tags = [r.tag for r in world.ledger.records()]
    assert len(set(pids)) == len(pids) == 4
    assert len(set(tags)) == 4
    assert world.msrp.rns[b"rn-1"].k == 5


def test_reused_next_pseudonym_is_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    world.initial_auth(rn, 1)
    request = rn.start_reauth(world.msrp.directory(2))
    report, _ = world.rpms[2].handle_reauth(request)
    with pytest.raises(PseudonymReused):  # pending at this RPM
        world.rpms[2].handle_reauth(request)
    rn.finish(world.rpms[2].on_ack(world.msrp.handle_report(report)))
    with pytest.raises(PseudonymReused):  # on the ledger
        world.rpms[2].handle_reauth(request)
    resent = ReauthRequest.from_bytes(request.to_bytes())
    with pytest.raises(PseudonymReused):
        world.rpms[3].handle_reauth(dataclasses.replace(resent, c1=resent.c1))


def test_reauth_without_initial_authentication_is_rejected(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    with pytest.raises(OutOfOrder):
        rn.start_reauth(world.msrp.directory(2))
    rn.authenticated = True  # a node lying about its state
    with pytest.raises(NotPreviouslyAuthenticated):
        world.rpms[2].handle_reauth(rn.start_reauth(world.msrp.directory(2)))


@pytest.mark.parametrize(
    ("hidden", "field"),
    [(True, f) for f in ("c1", "c2-tag", "c2-secret", "c2-pid", "pid_next")]
    + [(False, f) for f in ("c1", "c2-tag", "c2-secret", "pid", "pid_next")],
)
def test_tampered_reauth_request_is_rejected(hidden: bool, field: str) -> None:
    world = World.create(pools=3, config=RSMSConfig(hide_previous_pid=hidden))
    rn = world.register_rn(1, b"rn-1")
    world.initial_auth(rn, 1)
    request = rn.start_reauth(world.msrp.directory(2))
    assert request.hidden is hidden
    flip = bytes(31) + b"\x01"
    pad = bytes(len(request.c2) - 64)
    tampered = {
        "c1": lambda: dataclasses.replace(request, c1=request.c1 + generator()),
        "c2-tag": lambda: dataclasses.replace(request, c2=xor(request.c2, flip + bytes(32) + pad)),
        "c2-secret": lambda: dataclasses.replace(request, c2=xor(request.c2, bytes(32) + flip + pad)),
        "c2-pid": lambda: dataclasses.replace(request, c2=xor(request.c2, bytes(65) + b"\x01" + bytes(47))),
        "pid": lambda: dataclasses.replace(request, pid=xor(request.pid, bytes(47) + b"\x01")),
        "pid_next": lambda: dataclasses.replace(request, pid_next=xor(request.pid_next, flip)),
    }[field]()
    with pytest.raises(Rejected) as caught:
        world.rpms[2].handle_reauth(ReauthRequest.from_bytes(tampered.to_bytes()))
    expected = (
        PseudonymMismatch if field in ("c2-secret", "pid_next", "c2-pid") else NotPreviouslyAuthenticated
    )
    if hidden and field == "pid_next":
        expected = NotPreviouslyAuthenticated  # the mask is H3(W, PID_{k+1}): everything decodes to garbage
    assert isinstance(caught.value, expected), caught.value
    assert len(world.ledger.records()) == 1


def test_reauth_with_another_rns_pseudonym_is_caught_by_the_binding_check() -> None:
    for config, rpm_error in ((RSMSConfig(), PseudonymMismatch), (RSMSConfig().paper(), None)):
        world = World.create(pools=2, config=config)
        mallory, victim = world.register_rn(1, b"mallory"), world.register_rn(1, b"victim")
        world.initial_auth(mallory, 1)
        world.initial_auth(victim, 1)
        entry = world.msrp.directory(2)
        a_next = H4(mallory.a, mallory.sk)
        pid_next = scalar_to_bytes(H6(victim.pid, a_next))
        w = random_scalar()
        from offchain.resource_auth.parties import effective_rpm_key

        c1 = effective_rpm_key(entry, world.msrp.pk_pub) * w
        c2 = xor(H3(generator() * w, victim.pid, 64), tag_bytes(mallory.a) + scalar_to_bytes(a_next))
        forged = ReauthRequest(c1, c2, victim.pid, pid_next)
        if rpm_error is not None:
            with pytest.raises(rpm_error):
                world.rpms[2].handle_reauth(forged)
        else:  # paper: RPM^Y accepts, only the MSRP's check stops it (§8 item 15, 16)
            report, response = world.rpms[2].handle_reauth(forged)
            assert response is not None
            with pytest.raises(SecretMismatch):
                world.msrp.handle_report(report)
        assert len(world.ledger.records()) == 2


def test_clone_race_only_one_pool_admits() -> None:
    """A cloned RN sends the same re-authentication to two RPMs at once: one record, one admission."""
    world = World.create(pools=3)
    rn = world.register_rn(1, b"rn-1")
    world.initial_auth(rn, 1)
    request_y = rn.start_reauth(world.msrp.directory(2))
    clone = ResourceNode(rn.credentials, world.msrp.params)
    clone.a, clone.pid, clone.authenticated = rn.a, rn.pid, True
    request_z = clone.start_reauth(world.msrp.directory(3))
    report_y, _ = world.rpms[2].handle_reauth(request_y)
    report_z, _ = world.rpms[3].handle_reauth(request_z)  # both see a fresh PID_{k+1}
    rn.finish(world.rpms[2].on_ack(world.msrp.handle_report(report_y)))
    with pytest.raises(ReplayDetected):
        world.msrp.handle_report(report_z)
    world.rpms[3].on_reject(report_z.pid)
    assert world.rpms[3].members == set()
    assert len(world.ledger.records()) == 2


def test_ledger_check_and_set_is_atomic_under_threads() -> None:
    ledger = InMemoryLedger()
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            ledger.record_authentication(i % 2, b"T" * 32, b"pid-%d" % i)
            outcomes.append("ok")
        except ReplayDetected:
            outcomes.append("replay")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert outcomes.count("replay") == 7
    with pytest.raises(PseudonymReused):
        ledger.record_authentication(0, b"U" * 32, ledger.records()[0].pid)


def test_revoked_rn_cannot_authenticate(world: World) -> None:
    fresh, moved = world.register_rn(1, b"rn-fresh"), world.register_rn(1, b"rn-moved")
    world.initial_auth(moved, 1)
    world.msrp.revoke_rn(b"rn-fresh")
    world.msrp.revoke_rn(b"rn-moved")
    with pytest.raises(RevokedNode):
        world.initial_auth(fresh, 1)
    with pytest.raises(RevokedNode):
        world.reauth(moved, 2)
    request = moved.start_reauth(world.msrp.directory(2))
    report = world.rpms[2]._report(2, request.pid_next, scalar_to_bytes(H4(moved.a, moved.sk)))
    with pytest.raises(RevokedNode):  # the MSRP refuses even a report that slipped past an RPM
        world.msrp.handle_report(report)
    assert len(world.ledger.records()) == 1


def test_bloom_batches_must_be_signed_anchored_and_for_this_pool(world: World) -> None:
    world.register_rn(1, b"rn-1", flush=False)
    signed = world.msrp.flush_bloom(1)
    assert signed is not None
    rpm1, rpm2 = world.rpms[1], world.rpms[2]
    with pytest.raises(BloomSignatureInvalid):
        rpm2.install_bloom(signed)
    other = BloomFilter.init(4, 8)
    other.insert(b"x")
    with pytest.raises(BloomSignatureInvalid):
        rpm1.install_bloom(dataclasses.replace(signed, filter_bytes=other.to_bytes()))
    msk = world.msrp.msk
    unanchored = SignedBloom(1, 7, other.to_bytes(), b"")
    message = unanchored.signed_message()
    unanchored = dataclasses.replace(
        unanchored, signature=schnorr.sign(msk, world.msrp.pk_pub, message).to_bytes()
    )
    with pytest.raises(BloomSignatureInvalid):
        rpm1.install_bloom(unanchored)
    rpm1.install_bloom(signed)


def test_anonymity_and_traceability(world: World) -> None:
    rids = [f"resource-node-{i}".encode() for i in range(3)]
    nodes = [world.register_rn(1, rid) for rid in rids]
    for rn in nodes:
        world.initial_auth(rn, 1)
        world.reauth(rn, 2)
    frames = b"".join(data for _, data in world.transcript.frames)
    chain = b"".join(r.tag + r.pid for r in world.ledger.records())
    for rid in rids:
        assert rid not in frames  # P5: no RID in any message or ledger record
        assert rid not in chain
    for record in world.ledger.records():  # P6: the MSRP resolves every on-chain PID to its RID
        assert world.msrp.trace(record.pid) in rids


def test_chain_only_unlinkability() -> None:
    """P7: consecutive ledger pseudonyms of one RN look like those of different RNs (bit agreement ≈ 1/2)."""
    world = World.create(pools=2)
    nodes = [world.register_rn(1, f"rn-{i}".encode()) for i in range(6)]
    for rn in nodes:
        world.initial_auth(rn, 1)
        for pool in (2, 1, 2):
            world.reauth(rn, pool)

    def agreement(x: bytes, y: bytes) -> float:
        n = min(len(x), len(y))
        same = n * 8 - bin(int.from_bytes(x[:n], "big") ^ int.from_bytes(y[:n], "big")).count("1")
        return same / (n * 8)

    by_rn = {world.msrp.trace(r.pid): r for r in world.ledger.records()}
    assert len(by_rn) == 6
    records = world.ledger.records()
    chains = [[r for r in records if world.msrp.trace(r.pid) == rn_id] for rn_id in by_rn]
    same = [agreement(c[i].pid, c[i + 1].pid) for c in chains for i in range(1, len(c) - 1)]
    different = [agreement(chains[i][2].pid, chains[i + 1][2].pid) for i in range(5)]
    assert abs(sum(same) / len(same) - 0.5) < 0.08
    assert abs(sum(different) / len(different) - 0.5) < 0.08
    # no public function links them: the tags are H4(a), a never appears on chain
    for chain in chains:
        for first, second in itertools.pairwise(chain):
            assert second.pid != scalar_to_bytes(H6(first.pid, scalar_from_bytes(first.tag)))


def test_reauth_message_links_pseudonyms_only_in_the_paper_variant() -> None:
    """§8 item 38: the paper's text sends PID_k and PID_{k+1} side by side, so an eavesdropper links them;
    by default PID_k travels inside c2 (the paper's figure header) and the wire shows PID_{k+1} only."""
    for hidden in (True, False):
        world = World.create(pools=2, config=RSMSConfig(hide_previous_pid=hidden))
        rn = world.register_rn(1, b"rn-1")
        world.initial_auth(rn, 1)
        before = rn.pid
        world.reauth(rn, 2)
        _, wire = next(frame for frame in world.transcript.frames if frame[0] == "reauth-request")
        request = ReauthRequest.from_bytes(wire)
        assert request.pid_next == rn.pid
        assert (before in wire) is not hidden
        assert request.pid == (b"" if hidden else before)


def test_operation_counts_against_the_paper(world: World) -> None:
    rn = world.register_rn(1, b"rn-1")
    with count() as ops:
        request = rn.start_initial(world.msrp.directory(1))
    report, _ = world.rpms[1].handle_initial(request)
    response = world.rpms[1].on_ack(world.msrp.handle_report(report))
    with count() as finish:
        rn.finish(response)
    # paper: 4 T_ECPSM + 2 T_HF + 2 T_ECPA; the RN actually adds once (§7.2 "counts to reconcile")
    assert ops.ecpsm + finish.ecpsm == 4
    assert ops.hf == 2
    assert ops.ecpa == 1
    config = RSMSConfig(sign_reports=False)
    bare = World.create(pools=1, config=config, rng=random.Random(1))
    node = bare.register_rn(1, b"rn-2")
    request = node.start_initial(bare.msrp.directory(1))
    with count() as rpm_ops:
        bare.rpms[1].handle_initial(request)
    # paper: 2 T_ECPSM + T_BF + 2 T_HF (+ T_MIO precomputed); Enc_PK_pub adds 2 T_ECPSM
    assert (rpm_ops.ecpsm, rpm_ops.bf, rpm_ops.hf, rpm_ops.mio) == (2 + 2, 1, 2, 0)
