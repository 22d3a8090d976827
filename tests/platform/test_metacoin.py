"""MetaCoin (MTC): fixed supply in the four pools of Eq. (15), ERC-20 and EIP-2612 behaviour."""

from __future__ import annotations

from typing import Any

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from offchain.deploy import DEFAULT_SPLIT_BPS, TOTAL_SUPPLY, PlatformConfig

ZERO = "0x0000000000000000000000000000000000000000"


def test_supply_is_fixed_and_split_into_the_four_pools(token: Any, pool_holders: Any) -> None:
    assert token.totalSupply() == TOTAL_SUPPLY == token.TOTAL_SUPPLY()
    assert token.name() == "MetaCoin"
    assert token.symbol() == "MTC"
    assert token.decimals() == 18
    expected = PlatformConfig(pools=(ZERO,) * 4).pool_amounts()  # type: ignore[arg-type]
    for index, holder in enumerate(pool_holders):
        assert token.poolAddress(index) == holder.address
        assert token.balanceOf(holder) == expected[index]
    assert sum(expected) == TOTAL_SUPPLY
    assert expected[0] == TOTAL_SUPPLY * DEFAULT_SPLIT_BPS[0] // 10_000


def test_genesis_emits_one_allocation_per_pool(platform: Any, token: Any, pool_holders: Any) -> None:
    block = platform.records["MetaCoin"]["block"]
    logs = list(token.GenesisAllocation.range(block, block + 1))
    assert [log.pool for log in logs] == [0, 1, 2, 3]
    assert [log.holder for log in logs] == [holder.address for holder in pool_holders]
    assert sum(log.amount for log in logs) == TOTAL_SUPPLY


def test_constructor_rejects_a_zero_pool_address(project: Any, deployer: Any) -> None:
    amounts = [TOTAL_SUPPLY // 4] * 4
    pools = [deployer.address, ZERO, deployer.address, deployer.address]
    with ape.reverts(project.MetaCoin.PoolAddressZero, pool=1):
        deployer.deploy(project.MetaCoin, pools, amounts)


def test_constructor_rejects_a_split_that_misses_the_supply(project: Any, deployer: Any) -> None:
    amounts = [TOTAL_SUPPLY // 4, TOTAL_SUPPLY // 4, TOTAL_SUPPLY // 4, TOTAL_SUPPLY // 4 - 1]
    with ape.reverts(project.MetaCoin.AllocationMismatch, sum=TOTAL_SUPPLY - 1, expected=TOTAL_SUPPLY):
        deployer.deploy(project.MetaCoin, [deployer.address] * 4, amounts)


def test_transfer_approve_transfer_from(token: Any, pool_holders: Any, accounts: Any) -> None:
    holder, spender, receiver = pool_holders[0], accounts[6], accounts[7]
    before = token.balanceOf(receiver)
    receipt = token.transfer(receiver, 1_000, sender=holder)
    assert receipt.events == [token.Transfer(holder, receiver, 1_000)]
    token.approve(spender, 500, sender=holder)
    assert token.allowance(holder, spender) == 500
    token.transferFrom(holder, receiver, 300, sender=spender)
    assert token.allowance(holder, spender) == 200
    assert token.balanceOf(receiver) == before + 1_300


def test_transfer_beyond_balance_reverts_with_a_named_error(token: Any, accounts: Any) -> None:
    poor = accounts[8]
    balance = token.balanceOf(poor)
    with ape.reverts(
        token.ERC20InsufficientBalance, sender=poor.address, balance=balance, needed=balance + 1
    ):
        token.transfer(accounts[9], balance + 1, sender=poor)


def test_transfer_from_beyond_allowance_reverts(token: Any, pool_holders: Any, accounts: Any) -> None:
    with ape.reverts(token.ERC20InsufficientAllowance):
        token.transferFrom(pool_holders[1], accounts[9], 1, sender=accounts[9])


def _permit_signature(
    token: Any, owner: Any, spender: str, value: int, deadline: int
) -> tuple[int, bytes, bytes]:
    domain = token.eip712Domain()
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": domain.name,
            "version": domain.version,
            "chainId": domain.chainId,
            "verifyingContract": domain.verifyingContract,
        },
        "message": {
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), owner.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit_sets_an_allowance_from_a_signature(
    token: Any, pool_holders: Any, accounts: Any, chain: Any
) -> None:
    owner, spender = pool_holders[2], accounts[6]
    deadline = chain.pending_timestamp + 3_600
    nonce = token.nonces(owner)
    v, r, s = _permit_signature(token, owner, spender.address, 777, deadline)
    token.permit(owner, spender, 777, deadline, v, r, s, sender=spender)
    assert token.allowance(owner, spender) == 777
    assert token.nonces(owner) == nonce + 1
    with ape.reverts(token.ERC2612InvalidSigner):  # the same signature cannot be replayed
        token.permit(owner, spender, 777, deadline, v, r, s, sender=spender)


def test_permit_after_the_deadline_reverts(token: Any, pool_holders: Any, accounts: Any, chain: Any) -> None:
    owner, spender = pool_holders[2], accounts[6]
    deadline = chain.pending_timestamp - 1
    v, r, s = _permit_signature(token, owner, spender.address, 1, deadline)
    with ape.reverts(token.ERC2612ExpiredSignature):
        token.permit(owner, spender, 1, deadline, v, r, s, sender=spender)


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("name", ()),
        ("symbol", ()),
        ("decimals", ()),
        ("totalSupply", ()),
        ("TOTAL_SUPPLY", ()),
        ("DOMAIN_SEPARATOR", ()),
        ("eip712Domain", ()),
        ("poolAddress", (3,)),
    ],
)
def test_view_gas(token: Any, measure_view: Any, function: str, args: tuple[Any, ...]) -> None:
    assert measure_view(token, function, *args) > 21_000


def test_account_view_gas(token: Any, measure_view: Any, pool_holders: Any, accounts: Any) -> None:
    assert measure_view(token, "balanceOf", pool_holders[0]) > 21_000
    assert measure_view(token, "allowance", pool_holders[0], accounts[6]) > 21_000
    assert measure_view(token, "nonces", pool_holders[0]) > 21_000


def test_zero_addresses_are_refused(token: Any, pool_holders: Any) -> None:
    holder = pool_holders[0]
    with ape.reverts(token.ERC20InvalidReceiver, receiver=ZERO):
        token.transfer(ZERO, 1, sender=holder)
    with ape.reverts(token.ERC20InvalidSpender, spender=ZERO):
        token.approve(ZERO, 1, sender=holder)
