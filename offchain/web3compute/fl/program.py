"""The registered FedAvg program: what every computing server's sandbox runs (its bytes are hashed).

This file is both an importable module (the SP and the tests use its pure functions: encoding, training,
averaging, accuracy) and the program a sandbox executes: its SHA-256 is the ``programHash`` of the task.
It depends on NumPy only, so the measurement covers all of its logic.

``run(inputs)`` picks its role from its inputs:

* **local trainer** (inputs ``config`` from the SP, ``data`` from the data owner, ``model`` from the SP
  or the global node): softmax regression trained by mini-batch SGD for ``epochs`` over the local shard,
  starting from the received global model; output ``update-<shard>`` (weights and sample count);
* **global node** (inputs ``update-*`` from the trainers): FedAvg, the sample-weighted mean of the
  updates of the newest round; output ``model`` for the next round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MODEL_MAGIC = b"FAVG"
DATA_MAGIC = b"FDAT"
FEATURE_SCALE = 16.0
"""Digits pixels are 0..16; features are scaled to [0, 1]."""


@dataclass(frozen=True)
class Model:
    """Softmax regression ``p(y|x) = softmax(x W + b)``; ``samples`` weighs an update in FedAvg."""

    weights: FloatArray
    bias: FloatArray
    round: int = 0
    samples: int = 0


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float = 0.5
    epochs: int = 2
    batch_size: int = 32
    l2: float = 1e-4
    seed: int = 0


def zero_model(features: int, classes: int) -> Model:
    return Model(np.zeros((features, classes)), np.zeros(classes))


def encode_model(model: Model) -> bytes:
    """``FAVG || round (4) || samples (4) || features (2) || classes (2) || float32 W || float32 b``."""
    features, classes = model.weights.shape
    header = (
        MODEL_MAGIC
        + model.round.to_bytes(4, "big")
        + model.samples.to_bytes(4, "big")
        + features.to_bytes(2, "big")
        + classes.to_bytes(2, "big")
    )
    return header + model.weights.astype(">f4").tobytes() + model.bias.astype(">f4").tobytes()


def decode_model(blob: bytes) -> Model:
    if len(blob) < 16 or blob[:4] != MODEL_MAGIC:
        raise ValueError("not an encoded model")
    rnd = int.from_bytes(blob[4:8], "big")
    samples = int.from_bytes(blob[8:12], "big")
    features, classes = int.from_bytes(blob[12:14], "big"), int.from_bytes(blob[14:16], "big")
    if len(blob) != 16 + 4 * (features * classes + classes):
        raise ValueError("model length does not match its shape")
    values = np.frombuffer(blob[16:], dtype=">f4").astype(np.float64)
    weights = values[: features * classes].reshape(features, classes)
    return Model(weights, values[features * classes :].copy(), rnd, samples)


def encode_dataset(shard: int, features: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8]) -> bytes:
    """``FDAT || shard (2) || rows (4) || columns (2) || uint8 X || uint8 y``."""
    rows, columns = features.shape
    if labels.shape != (rows,):
        raise ValueError("one label per row")
    header = DATA_MAGIC + shard.to_bytes(2, "big") + rows.to_bytes(4, "big") + columns.to_bytes(2, "big")
    return header + features.astype(np.uint8).tobytes() + labels.astype(np.uint8).tobytes()


def decode_dataset(blob: bytes) -> tuple[int, npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    if len(blob) < 12 or blob[:4] != DATA_MAGIC:
        raise ValueError("not an encoded dataset")
    shard = int.from_bytes(blob[4:6], "big")
    rows, columns = int.from_bytes(blob[6:10], "big"), int.from_bytes(blob[10:12], "big")
    if len(blob) != 12 + rows * columns + rows:
        raise ValueError("dataset length does not match its shape")
    features = np.frombuffer(blob[12 : 12 + rows * columns], dtype=np.uint8).reshape(rows, columns)
    labels = np.frombuffer(blob[12 + rows * columns :], dtype=np.uint8)
    return shard, features, labels


def encode_config(config: TrainConfig) -> bytes:
    return json.dumps(config.__dict__, sort_keys=True).encode()


def decode_config(blob: bytes) -> TrainConfig:
    return TrainConfig(**json.loads(blob.decode()))


def _softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = exp / exp.sum(axis=1, keepdims=True)
    return result


def predict(model: Model, features: npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    scores = (np.asarray(features, dtype=np.float64) / FEATURE_SCALE) @ model.weights + model.bias
    result: npt.NDArray[np.int64] = np.argmax(scores, axis=1).astype(np.int64)
    return result


def accuracy(model: Model, features: npt.NDArray[np.generic], labels: npt.NDArray[np.generic]) -> float:
    return float(np.mean(predict(model, features) == np.asarray(labels)))


def train_local(
    model: Model, features: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8], config: TrainConfig
) -> Model:
    """Mini-batch SGD on the cross-entropy (plus L2) from ``model``; returns the update."""
    x = features.astype(np.float64) / FEATURE_SCALE
    classes = model.weights.shape[1]
    onehot = np.eye(classes)[labels.astype(np.int64)]
    weights, bias = model.weights.copy(), model.bias.copy()
    rng = np.random.default_rng(config.seed + model.round)
    for _ in range(config.epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            error = _softmax(x[batch] @ weights + bias) - onehot[batch]
            weights -= config.learning_rate * (x[batch].T @ error / len(batch) + config.l2 * weights)
            bias -= config.learning_rate * error.mean(axis=0)
    return Model(weights, bias, model.round, len(x))


def fedavg(updates: Sequence[Model]) -> Model:
    """Sample-weighted mean of the updates of one round (McMahan et al.); the result is the next round."""
    if not updates:
        raise ValueError("no updates to average")
    rounds = {update.round for update in updates}
    if len(rounds) != 1:
        raise ValueError(f"updates from different rounds: {sorted(rounds)}")
    total = sum(update.samples for update in updates)
    if total <= 0:
        raise ValueError("updates carry no samples")
    weights = sum(update.weights * (update.samples / total) for update in updates)
    bias = sum(update.bias * (update.samples / total) for update in updates)
    return Model(np.asarray(weights), np.asarray(bias), rounds.pop() + 1, total)


def run(inputs: Mapping[str, bytes]) -> dict[str, bytes]:
    """The sandbox entry point (see the module docstring)."""
    updates = [decode_model(blob) for name, blob in sorted(inputs.items()) if name.startswith("update-")]
    if "data" not in inputs and updates:
        newest = max(update.round for update in updates)
        return {"model": encode_model(fedavg([u for u in updates if u.round == newest]))}
    shard, features, labels = decode_dataset(inputs["data"])
    config = decode_config(inputs["config"])
    update = train_local(decode_model(inputs["model"]), features, labels, config)
    return {f"update-{shard}": encode_model(update)}
