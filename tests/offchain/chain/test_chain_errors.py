"""decode_revert and the exception hierarchy (no chain needed)."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from web3 import Web3

from offchain.chain import (
    ChainError,
    ContractRevert,
    TransactionFailed,
    decode_revert,
    error_selector,
    error_signature,
    revert_data_from_exception,
)

ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "f", "inputs": [], "outputs": [], "stateMutability": "nonpayable"},
    {
        "type": "error",
        "name": "TooLarge",
        "inputs": [{"name": "value", "type": "uint256"}, {"name": "max", "type": "uint256"}],
    },
    {
        "type": "error",
        "name": "BadPair",
        "inputs": [
            {
                "name": "pair",
                "type": "tuple",
                "components": [{"name": "a", "type": "address"}, {"name": "b", "type": "uint8"}],
            },
            {"name": "", "type": "address[]"},
        ],
    },
    {"type": "error", "name": "Unauthorized", "inputs": []},
]


def _selector(signature: str) -> bytes:
    return bytes(Web3.keccak(text=signature)[:4])


def test_custom_error_selector_and_args() -> None:
    assert error_signature(ABI[1]) == "TooLarge(uint256,uint256)"
    assert error_selector(ABI[1]) == _selector("TooLarge(uint256,uint256)")
    data = _selector("TooLarge(uint256,uint256)") + encode(["uint256", "uint256"], [5, 3])
    assert decode_revert(ABI, data) == ("TooLarge", {"value": 5, "max": 3})
    assert decode_revert(ABI, "0x" + data.hex()) == ("TooLarge", {"value": 5, "max": 3})


def test_tuple_args_unnamed_args_and_checksummed_addresses() -> None:
    assert error_signature(ABI[2]) == "BadPair((address,uint8),address[])"
    who = "0x" + "ab" * 20
    data = _selector("BadPair((address,uint8),address[])") + encode(
        ["(address,uint8)", "address[]"], [(who, 7), [who]]
    )
    name, args = decode_revert(ABI, data)
    assert name == "BadPair"
    assert args["pair"][1] == 7
    assert args["arg1"] == (Web3.to_checksum_address(who),)
    assert decode_revert(ABI, _selector("Unauthorized()")) == ("Unauthorized", {})


def test_builtin_error_and_panic() -> None:
    error = _selector("Error(string)") + encode(["string"], ["nope"])
    assert decode_revert([], error) == ("Error", {"message": "nope"})
    panic = _selector("Panic(uint256)") + encode(["uint256"], [0x11])
    assert decode_revert([], panic) == (
        "Panic",
        {"code": 0x11, "meaning": "arithmetic overflow or underflow"},
    )
    odd = _selector("Panic(uint256)") + encode(["uint256"], [0x99])
    assert decode_revert([], odd)[1]["meaning"] == "unknown panic code"


def test_unknown_and_malformed() -> None:
    assert decode_revert(ABI, b"\xde\xad\xbe\xef\x01") == ("UnknownError", {"data": "0xdeadbeef01"})
    assert decode_revert(ABI, b"") == ("UnknownError", {"data": "0x"})
    truncated = _selector("TooLarge(uint256,uint256)") + b"\x01"
    assert decode_revert(ABI, truncated)[0] == "UnknownError"


def test_list_of_abis_is_accepted() -> None:
    data = _selector("Unauthorized()")
    assert decode_revert([[ABI[0]], ABI[1:]], data) == ("Unauthorized", {})


def test_exception_shapes() -> None:
    revert = ContractRevert("Coin", "TooLarge", {"value": 5, "max": 3}, "0x01")
    assert isinstance(revert, ChainError)
    assert revert.error_args == {"value": 5, "max": 3}
    assert str(revert) == "Coin reverted with TooLarge(value=5, max=3) (tx 0x01)"
    failed = TransactionFailed("boom", tx_hash="0x01", revert=revert)
    assert failed.error_name == "TooLarge"
    assert TransactionFailed("boom").error_name is None


def test_revert_data_from_exception() -> None:
    class FakeLogicError(Exception):
        data = "0x08c379a0"

    class FakeRpcError(Exception):
        rpc_response = {"error": {"code": 3, "message": "execution reverted", "data": "0xdeadbeef"}}  # noqa: RUF012

    assert revert_data_from_exception(FakeLogicError()) == bytes.fromhex("08c379a0")
    assert revert_data_from_exception(FakeRpcError()) == bytes.fromhex("deadbeef")
    assert revert_data_from_exception(ValueError("x")) is None
