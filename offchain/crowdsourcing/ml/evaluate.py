"""Scoring a validated ONNX model on D_val with onnxruntime, in MLC's units (millionths of accuracy)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from offchain.crowdsourcing.ml.models import Dataset, FloatArray, LabelArray
from offchain.crowdsourcing.ml.validator import ModelRejected, ValidatedModel
from offchain.crowdsourcing.rules import SCORE_SCALE


class EvaluationFailed(ModelRejected):
    """The runtime refused the model or its output does not fit the validation set."""

    code = "evaluation-failed"


def _session(model: ValidatedModel) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.data, sess_options=options, providers=["CPUExecutionProvider"])


def predict(model: ValidatedModel, x: FloatArray) -> LabelArray:
    """The model's labels for ``x`` (float32 ``[n, features]``)."""
    try:
        session = _session(model)
        (labels,) = session.run([model.label_output], {model.input_name: np.ascontiguousarray(x, np.float32)})
    except Exception as exc:  # onnxruntime raises its own exception types for any model it cannot run
        raise EvaluationFailed(f"onnxruntime could not run the model: {str(exc)[:300]}") from None
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.shape[0] != x.shape[0]:
        raise EvaluationFailed(f"model returned {labels.shape[0]} labels for {x.shape[0]} samples")
    return labels


def accuracy_score(model: ValidatedModel, validation: Dataset) -> int:
    """Accuracy on D_val in millionths (MLC's SCORE_SCALE), rounded down: exact integer arithmetic, so every
    honest committee node reports the same number."""
    correct = int(np.count_nonzero(predict(model, validation.x) == validation.y))
    return correct * SCORE_SCALE // len(validation)
