"""Role sets: parsing from the command line and their labels."""

import pytest

from offchain.chain.roles import DEFAULT_PERMISSIONED, ActorRole


def test_parse_accepts_names_in_any_case_and_separator() -> None:
    assert ActorRole.parse("csn,mtd") == ActorRole.CSN | ActorRole.MTD
    assert ActorRole.parse("CSN|Mec-Server") == ActorRole.CSN | ActorRole.MEC_SERVER


@pytest.mark.parametrize("text", ["", " , ", "bogus", "csn,bogus"])
def test_parse_rejects_unknown_or_empty(text: str) -> None:
    with pytest.raises(ValueError, match="role"):
        ActorRole.parse(text)


def test_label_names_every_role() -> None:
    assert (ActorRole.CSN | ActorRole.MTD).label == "mtd|csn"
    assert ActorRole(0).label == "none"


def test_all_covers_every_role_and_the_default_permissioned_set() -> None:
    assert ActorRole.all() == (1 << 22) - 1
    assert DEFAULT_PERMISSIONED & ActorRole.all() == DEFAULT_PERMISSIONED
    assert not DEFAULT_PERMISSIONED & (ActorRole.MTD | ActorRole.VEHICLE | ActorRole.WEB3_USER)
