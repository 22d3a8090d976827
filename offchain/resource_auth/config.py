"""Named options of RSMS (spec 002 §8, requirement R29). Defaults are the corrected behaviour; each
``paper_*`` or ``optimistic`` choice reproduces the paper where the paper is wrong or silent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RSMSConfig:
    epsilon: float = 20.0
    """Bloom-filter parameter: FPR 2^-ε, ``ceil(1.44·ε·N_bf)`` bits, ``ceil(ε)`` positions (§8 item 19)."""
    bf_batch_size: int = 64
    """N_bf: the MSRP delivers a pool's filter when this many RNs are registered (or on ``flush_bloom``)."""
    admission: Literal["strict", "optimistic"] = "strict"
    """strict: the RPM answers the RN only after the MSRP recorded (H4(a), PID) on the ledger, which closes
    the race of two RPMs and the Bloom false-positive path (§8 items 11, 16). optimistic: the paper's
    Remark 1, A is sent at once and a failed MSRP check evicts the RN afterwards."""
    bind_pid_to_tag: bool = True
    """Re-auth: require the ledger's record of H4(a_k) to be PID_k's (§8 item 15). Paper: False."""
    check_pid_chain: bool = True
    """Re-auth: RPM^Y checks PID_{k+1} == H6(PID_k, a'_{k+1}) before asking the MSRP. Paper: False."""
    sign_reports: bool = True
    """RPM reports to the MSRP are Schnorr-signed with the RPM's implicit-certificate key (ours)."""
    sign_group_setup: bool = True
    """The MSRP signs (session, epoch, List_PID, Q, H4(s_serv)) in GMA step 2 (§8 item 21)."""
    hide_previous_pid: bool = True
    """Re-auth: send only PID_{k+1} in the clear and PID_k inside c2 (the paper's figure header), so an
    eavesdropper cannot link consecutive pseudonyms (§8 item 38). Paper text: False, both in the clear."""
    gska_mask: Literal["directional", "paper"] = "directional"
    """paper: mask = SHA-256(f(x_i)f(x_j)P), the same both ways, so an eavesdropper XORs the two messages
    of a pair and learns f(x_i) ⊕ f(x_j). directional: the mask also hashes session, epoch, sender and
    receiver, so the two masks differ."""

    def paper(self) -> RSMSConfig:
        """The paper-faithful variant of this configuration."""
        return RSMSConfig(
            epsilon=self.epsilon,
            bf_batch_size=self.bf_batch_size,
            admission="optimistic",
            bind_pid_to_tag=False,
            check_pid_chain=False,
            sign_reports=False,
            sign_group_setup=False,
            hide_previous_pid=False,
            gska_mask="paper",
        )
