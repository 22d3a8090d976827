"""The registered FedAvg program as pure functions: encodings, training, averaging, its two roles."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.web3compute.fl import program as fedavg
from offchain.web3compute.fl.data import majority_baseline, split_digits
from offchain.web3compute.fl.task import fedavg_program, fedavg_program_hash
from offchain.web3compute.sandbox.envelope import program_hash


def test_the_registered_hash_is_the_hash_of_the_shipped_program() -> None:
    assert fedavg_program_hash() == program_hash(fedavg_program())
    assert b"def run(inputs" in fedavg_program()


def test_encodings_round_trip_and_reject_garbage() -> None:
    rng = np.random.default_rng(1)
    model = fedavg.Model(rng.normal(size=(64, 10)), rng.normal(size=10), round=3, samples=479)
    back = fedavg.decode_model(fedavg.encode_model(model))
    assert (back.round, back.samples) == (3, 479)
    np.testing.assert_allclose(back.weights, model.weights, rtol=1e-6)
    np.testing.assert_allclose(back.bias, model.bias, rtol=1e-6)
    assert len(fedavg.encode_model(model)) == 16 + 4 * 650
    x = rng.integers(0, 17, size=(5, 64), dtype=np.uint8)
    y = rng.integers(0, 10, size=5, dtype=np.uint8)
    shard, x2, y2 = fedavg.decode_dataset(fedavg.encode_dataset(2, x, y))
    assert shard == 2
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    with pytest.raises(ValueError, match="not an encoded model"):
        fedavg.decode_model(b"nope" * 10)
    with pytest.raises(ValueError, match="length does not match"):
        fedavg.decode_model(fedavg.encode_model(model)[:-4])
    with pytest.raises(ValueError, match="not an encoded dataset"):
        fedavg.decode_dataset(b"\x00" * 20)
    cfg = fedavg.TrainConfig(learning_rate=0.1, epochs=3)
    assert fedavg.decode_config(fedavg.encode_config(cfg)) == cfg


def test_fedavg_is_the_sample_weighted_mean() -> None:
    a = fedavg.Model(np.ones((2, 2)), np.zeros(2), round=1, samples=1)
    b = fedavg.Model(np.full((2, 2), 4.0), np.full(2, 3.0), round=1, samples=3)
    avg = fedavg.fedavg([a, b])
    np.testing.assert_allclose(avg.weights, np.full((2, 2), 3.25))
    np.testing.assert_allclose(avg.bias, np.full(2, 2.25))
    assert (avg.round, avg.samples) == (2, 4)
    with pytest.raises(ValueError, match="different rounds"):
        fedavg.fedavg([a, fedavg.Model(np.ones((2, 2)), np.zeros(2), round=2, samples=1)])
    with pytest.raises(ValueError, match="no updates"):
        fedavg.fedavg([])


def test_run_trains_locally_then_aggregates_and_beats_the_baseline() -> None:
    split = split_digits(3, seed=0)
    assert len(split.shards) == 3
    assert sum(len(y) for _, y in split.shards) + len(split.test_labels) == 1797
    config = fedavg.encode_config(fedavg.TrainConfig(epochs=1))
    model = fedavg.encode_model(fedavg.zero_model(split.features, split.classes))
    updates = {}
    for index, (x, y) in enumerate(split.shards):
        out = fedavg.run({"config": config, "model": model, "data": fedavg.encode_dataset(index, x, y)})
        assert list(out) == [f"update-{index}"]
        updates.update(out)
    # A stale update of an older round is ignored by the global node.
    stale = fedavg.Model(np.full((64, 10), 9.0), np.zeros(10), round=0, samples=5)
    updates["update-9"] = fedavg.encode_model(stale)
    newer = {
        k: fedavg.encode_model(fedavg.Model(m.weights, m.bias, 1, m.samples))
        for k, m in ((k, fedavg.decode_model(v)) for k, v in updates.items() if k != "update-9")
    }
    global_model = fedavg.decode_model(
        fedavg.run({**updates, **{f"{k}-r1": v for k, v in newer.items()}})["model"]
    )
    assert global_model.round == 2
    assert global_model.samples == sum(len(y) for _, y in split.shards)
    baseline = majority_baseline(split)
    assert baseline < 0.2
    assert fedavg.accuracy(global_model, split.test_features, split.test_labels) > baseline + 0.5
