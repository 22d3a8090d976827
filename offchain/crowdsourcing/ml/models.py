"""The example task: classify scikit-learn's bundled 8×8 digits (nothing is downloaded), and the recipes
the demo's ML workers follow to train models of different quality, exported to ONNX with skl2onnx.

The MSP keeps a stratified hold-out split as D_val; the workers train on the rest (each on its own slice).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skl2onnx import convert_sklearn  # type: ignore[import-untyped]
from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped]
from sklearn.datasets import load_digits  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

from offchain.crowdsourcing.ml.validator import ModelSignature

#: The digits task: 64 pixel intensities (0–16) per sample, labels 0–9.
DIGITS = ModelSignature(features=64, classes=10)
#: ONNX opset the exports target (onnxruntime 1.2x runs it; ONNX-ML domain at version 3 with it).
TARGET_OPSET = 17
#: Cap on the samples in a validation set (D_val) an evaluator accepts.
MAX_VALIDATION_SAMPLES = 100_000

FloatArray = NDArray[np.float32]
LabelArray = NDArray[np.int64]


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (float32, ``[n, features]``) and labels ``y`` (int64, ``[n]``)."""

    x: FloatArray
    y: LabelArray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to_bytes(self) -> bytes:
        """``.npz`` bytes (two plain arrays, readable without pickle)."""
        buffer = io.BytesIO()
        np.savez(buffer, x=self.x, y=self.y)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, signature: ModelSignature = DIGITS) -> Dataset:
        """Parse ``.npz`` bytes from an untrusted party (``allow_pickle=False``); ValueError if malformed."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                x, y = np.asarray(archive["x"]), np.asarray(archive["y"])
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise ValueError(f"not a validation set (.npz with x and y): {exc}") from None
        if x.ndim != 2 or x.shape[1] != signature.features or y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise ValueError(f"validation set has shapes {x.shape} and {y.shape}")
        if not 0 < y.shape[0] <= MAX_VALIDATION_SAMPLES:
            raise ValueError(f"validation set has {y.shape[0]} samples (1..{MAX_VALIDATION_SAMPLES})")
        if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"validation set has dtypes {x.dtype} and {y.dtype}")
        if not np.all(np.isfinite(x)) or y.min() < 0 or y.max() >= signature.classes:
            raise ValueError("validation set has non-finite features or labels out of range")
        return cls(x.astype(np.float32), y.astype(np.int64))


def digits_split(seed: int = 0, validation_fraction: float = 0.3) -> tuple[Dataset, Dataset]:
    """(training pool for the workers, D_val held out by the MSP), stratified and reproducible."""
    digits = load_digits()
    x = np.asarray(digits.data, dtype=np.float32)
    y = np.asarray(digits.target, dtype=np.int64)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=validation_fraction, random_state=seed, stratify=y
    )
    return Dataset(x_train, y_train), Dataset(x_val, y_val)


@dataclass(frozen=True)
class Recipe:
    """How one worker trains: an estimator and how many training samples it has."""

    name: str
    description: str
    samples: int
    build: Callable[[int], Any]

    def train(self, pool: Dataset, seed: int = 0) -> Any:
        """Fit the estimator on the first ``samples`` rows of a seeded permutation of ``pool``."""
        order = np.random.default_rng(seed).permutation(len(pool))[: self.samples]
        estimator = self.build(seed)
        estimator.fit(pool.x[order], pool.y[order])
        return estimator


def _logistic(seed: int) -> Any:
    return LogisticRegression(max_iter=3000, random_state=seed)


def _tree(depth: int) -> Callable[[int], Any]:
    def build(seed: int) -> Any:
        return DecisionTreeClassifier(max_depth=depth, random_state=seed)

    return build


#: The demo's three workers, strongest first (accuracies on D_val are measured, never assumed).
RECIPES: dict[str, Recipe] = {
    "logistic-full": Recipe("logistic-full", "logistic regression on all its data", 1000, _logistic),
    "logistic-small": Recipe("logistic-small", "logistic regression on 120 samples", 120, _logistic),
    "shallow-tree": Recipe("shallow-tree", "decision tree of depth 4", 1000, _tree(4)),
}


def export_onnx(estimator: Any, signature: ModelSignature = DIGITS) -> bytes:
    """Convert a fitted scikit-learn classifier to ONNX bytes: float input ``[None, features]``, an int64
    ``label`` output and a plain probability tensor (zipmap disabled)."""
    onnx_model = convert_sklearn(
        estimator,
        initial_types=[("input", FloatTensorType([None, signature.features]))],
        options={id(estimator): {"zipmap": False}},
        target_opset={"": TARGET_OPSET, "ai.onnx.ml": 3},
    )
    return bytes(onnx_model.SerializeToString())
