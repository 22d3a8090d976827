"""Wiring of the RSMS parties in one process: a small world (MSRP, one RPM per pool, RNs, Users, a ledger)
and the message deliveries of each protocol, every message going through its byte encoding. Used by the
tests, the bench and as the reference sequence for the network agents."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from offchain.resource_auth.config import RSMSConfig
from offchain.resource_auth.errors import Rejected
from offchain.resource_auth.group_auth import GroupManager, GroupParty, run_group_round
from offchain.resource_auth.ledger_api import InMemoryLedger, Ledger
from offchain.resource_auth.messages import (
    AuthReport,
    AuthResponse,
    GroupSetup,
    InitialAuthRequest,
    ReauthRequest,
)
from offchain.resource_auth.parties import (
    MSRP,
    RPM,
    ResourceNode,
    UserCredentials,
    registration_request,
)


@dataclass
class Transcript:
    """Every message of a run, as sent on the wire (for size accounting and the eavesdropper tests)."""

    frames: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, name: str, data: bytes) -> bytes:
        self.frames.append((name, data))
        return data


@dataclass
class World:
    msrp: MSRP
    rpms: dict[int, RPM]
    ledger: Ledger
    config: RSMSConfig
    rng: random.Random | None = None
    transcript: Transcript = field(default_factory=Transcript)

    @classmethod
    def create(
        cls,
        pools: int = 2,
        config: RSMSConfig | None = None,
        ledger: Ledger | None = None,
        rng: random.Random | None = None,
        rpm_ledgers: dict[int, Ledger] | None = None,
    ) -> World:
        """``ledger`` is the MSRP's (and every RPM's unless ``rpm_ledgers`` gives a pool its own client,
        e.g. a :class:`~offchain.resource_auth.ledger.ChainLedger` with the RPM's transaction sender)."""
        chosen = config or RSMSConfig()
        store = ledger if ledger is not None else InMemoryLedger()
        own = rpm_ledgers or {}
        msrp = MSRP(store, chosen, rng)
        rpms = {}
        for pool_id in range(1, pools + 1):
            credentials = msrp.register_rpm(
                pool_id, registration_request(msrp.pk_pub, f"rpm-{pool_id}".encode())
            )
            rpms[pool_id] = RPM(credentials, msrp.params, own.get(pool_id, store), chosen, rng)
        return cls(msrp, rpms, store, chosen, rng)

    def register_rn(self, pool_id: int, rid: bytes, *, flush: bool = True) -> ResourceNode:
        credentials = self.msrp.register_rn(pool_id, registration_request(self.msrp.pk_pub, rid, self.rng))
        if flush:
            self.deliver_blooms(pool_id)
        return ResourceNode(credentials, self.msrp.params, self.rng, self.config)

    def deliver_blooms(self, pool_id: int) -> None:
        self.msrp.flush_bloom(pool_id)
        for signed in self.msrp.deliver_blooms(pool_id):
            self.rpms[pool_id].install_bloom(signed)

    def register_user(self, rid: bytes) -> UserCredentials:
        return self.msrp.register_user(registration_request(self.msrp.pk_pub, rid, self.rng))

    # ---- pool authentication -------------------------------------------------------------------------
    def _settle(self, rpm: RPM, report_bytes: bytes, response: AuthResponse | None) -> bytes:
        report = AuthReport.from_bytes(self.transcript.add("report", report_bytes))
        try:
            ack = self.msrp.handle_report(report)
        except Rejected:
            rpm.on_reject(report.pid)
            raise
        self.transcript.add("ack", ack.to_bytes())
        if response is None:
            response = rpm.on_ack(ack)
        return self.transcript.add("response", response.to_bytes())

    def initial_auth(self, rn: ResourceNode, pool_id: int) -> None:
        """RN → RPM → MSRP → ledger → RPM → RN, through the byte encodings."""
        rpm = self.rpms[pool_id]
        request = self.transcript.add(
            "init-request", rn.start_initial(self.msrp.directory(pool_id)).to_bytes()
        )
        report, response = rpm.handle_initial(InitialAuthRequest.from_bytes(request))
        answer = self._settle(rpm, report.to_bytes(), response)
        rn.finish(AuthResponse.from_bytes(answer))

    def reauth(self, rn: ResourceNode, pool_id: int) -> None:
        rpm = self.rpms[pool_id]
        request = self.transcript.add(
            "reauth-request", rn.start_reauth(self.msrp.directory(pool_id)).to_bytes()
        )
        report, response = rpm.handle_reauth(ReauthRequest.from_bytes(request))
        answer = self._settle(rpm, report.to_bytes(), response)
        rn.finish(AuthResponse.from_bytes(answer))

    # ---- groups --------------------------------------------------------------------------------------
    def party_for_rn(self, rn: ResourceNode) -> GroupParty:
        return GroupParty(rn.pid, rn.sk, self.msrp.pk_pub, self.config)

    def party_for_user(self, user: UserCredentials) -> GroupParty:
        return GroupParty(user.pid, user.sk, self.msrp.pk_pub, self.config)

    def form_group(
        self, manager: GroupManager, user: GroupParty, rns: list[GroupParty]
    ) -> tuple[bytes, list[GroupSetup]]:
        setups = manager.start_group(user.pid, [party.pid for party in rns])
        keys = run_group_round([user, *rns], [GroupSetup.from_bytes(s.to_bytes()) for s in setups])
        if len(set(keys)) != 1:
            raise AssertionError("honest parties derived different keys")
        return setups[0].session, setups
