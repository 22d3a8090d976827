"""The task's data: scikit-learn's ``load_digits`` (8x8 images, 10 classes, 1,797 samples, shipped inside
the package, nothing downloaded), a held-out test split for the SP, and one training shard per node."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Split:
    shards: tuple[tuple[U8, U8], ...]
    """``(features, labels)`` per computing node."""
    test_features: U8
    test_labels: U8

    @property
    def classes(self) -> int:
        return 10

    @property
    def features(self) -> int:
        return int(self.test_features.shape[1])


def load_digits_uint8() -> tuple[U8, U8]:
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]  # lazy: ~1 s, data owner only

    bunch = load_digits()
    return np.asarray(bunch.data, dtype=np.uint8), np.asarray(bunch.target, dtype=np.uint8)


def split_digits(nodes: int, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Shuffle with ``seed``, hold out ``test_fraction`` for the SP, deal the rest into ``nodes`` shards."""
    if nodes < 1:
        raise ValueError("at least one computing node")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction is in (0, 1)")
    features, labels = load_digits_uint8()
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = round(len(labels) * test_fraction)
    test, train = order[:cut], order[cut:]
    shards = tuple((features[part], labels[part]) for part in np.array_split(train, nodes))
    return Split(shards, features[test], labels[test])


def majority_baseline(split: Split) -> float:
    """Accuracy of always answering the most frequent training label (the trivial baseline)."""
    train_labels = np.concatenate([labels for _, labels in split.shards])
    majority = np.bincount(train_labels, minlength=split.classes).argmax()
    return float(np.mean(split.test_labels == majority))
