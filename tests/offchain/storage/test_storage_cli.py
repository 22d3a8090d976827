"""``metatrust storage``: cid, put, get (plain and sealed) through the CLI."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from offchain.cli import app
from offchain.crypto.keys import generate
from offchain.storage import compute_cid
from offchain.storage.unixfs import ImportOptions

runner = CliRunner()


def test_cid_put_get(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(bytes(range(256)) * 3000)
    store = str(tmp_path / "store")
    expected = compute_cid(source.read_bytes()).encode()
    result = runner.invoke(app, ["storage", "cid", str(source)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected
    result = runner.invoke(app, ["storage", "cid", str(source), "--cid-version", "1", "--chunk-size", "1024"])
    assert result.stdout.strip() == compute_cid(source.read_bytes(), ImportOptions.v1(1024)).encode()
    result = runner.invoke(app, ["storage", "put", str(source), "--store", store])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[0] == expected
    out = tmp_path / "back"
    result = runner.invoke(app, ["storage", "get", expected, "--store", store, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == source.read_bytes()


def test_sealed_put_and_get(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipient = generate()
    source = tmp_path / "data.bin"
    source.write_bytes(b"private dataset")
    store = str(tmp_path / "store")
    result = runner.invoke(
        app, ["storage", "put", str(source), "--store", store, "--encrypt-to", recipient.public_key.hex()]
    )
    assert result.exit_code == 0, result.output
    ref_file = tmp_path / "ref.json"
    ref_file.write_text(result.stdout.strip().splitlines()[0])
    monkeypatch.setenv("METATRUST_STORAGE_KEY", recipient.private_key.hex())
    out = tmp_path / "opened"
    result = runner.invoke(app, ["storage", "get", str(ref_file), "--store", store, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"private dataset"


def test_bad_input_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    result = runner.invoke(app, ["storage", "cid", str(source), "--chunk-size", "0"])
    assert result.exit_code != 0
    assert "chunk_size" in result.output
    result = runner.invoke(app, ["storage", "get", "not-a-cid", "--store", str(tmp_path / "s")])
    assert result.exit_code != 0
