"""Example models (digits → ONNX → onnxruntime) and the admission of untrusted model files."""

from __future__ import annotations

import pickle

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from offchain.crowdsourcing.ml.evaluate import EvaluationFailed, accuracy_score, predict
from offchain.crowdsourcing.ml.models import DIGITS, RECIPES, Dataset, digits_split, export_onnx
from offchain.crowdsourcing.ml.validator import (
    ExternalDataRejected,
    InvalidOnnx,
    ModelRejected,
    ModelSignature,
    ModelTooLarge,
    NotOnnx,
    PickleRejected,
    UnexpectedSignature,
    UnsupportedOperator,
    validate_model,
)
from offchain.crowdsourcing.rules import SCORE_SCALE


@pytest.fixture(scope="module")
def split() -> tuple[Dataset, Dataset]:
    return digits_split(seed=0)


@pytest.fixture(scope="module")
def trained(split: tuple[Dataset, Dataset]) -> dict[str, tuple[object, bytes]]:
    pool, _ = split
    out: dict[str, tuple[object, bytes]] = {}
    for name, recipe in RECIPES.items():
        estimator = recipe.train(pool, seed=0)
        out[name] = (estimator, export_onnx(estimator))
    return out


def test_split_is_stratified_reproducible_and_disjoint(split: tuple[Dataset, Dataset]) -> None:
    pool, validation = split
    assert len(pool) + len(validation) == 1797
    assert len(validation) == 540
    again = digits_split(seed=0)[1]
    assert np.array_equal(again.x, validation.x)
    assert np.array_equal(again.y, validation.y)
    assert set(np.unique(validation.y)) == set(range(10))


def test_onnx_scores_match_scikit_learn_and_order_the_recipes(
    split: tuple[Dataset, Dataset], trained: dict[str, tuple[object, bytes]]
) -> None:
    _, validation = split
    scores = {}
    for name, (estimator, data) in trained.items():
        model = validate_model(data, DIGITS)
        labels = predict(model, validation.x)
        assert np.array_equal(labels, estimator.predict(validation.x))  # type: ignore[attr-defined]
        scores[name] = accuracy_score(model, validation)
        correct = int(np.count_nonzero(labels == validation.y))
        assert scores[name] == correct * SCORE_SCALE // len(validation)
    # Three qualities around the thesis's example threshold of 85 %.
    assert scores["logistic-full"] > scores["logistic-small"] > 850_000 > scores["shallow-tree"]


def test_validation_set_round_trips_without_pickle(split: tuple[Dataset, Dataset]) -> None:
    _, validation = split
    again = Dataset.from_bytes(validation.to_bytes())
    assert np.array_equal(again.x, validation.x)
    assert np.array_equal(again.y, validation.y)
    with pytest.raises(ValueError, match="not a validation set"):
        Dataset.from_bytes(pickle.dumps({"x": validation.x, "y": validation.y}))
    buffer = __import__("io").BytesIO()
    np.savez(buffer, x=np.zeros((3, 5), np.float32), y=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="shapes"):
        Dataset.from_bytes(buffer.getvalue())
    buffer = __import__("io").BytesIO()
    np.savez(buffer, x=np.zeros((2, 64), np.float32), y=np.array([0, 10]))
    with pytest.raises(ValueError, match="out of range"):
        Dataset.from_bytes(buffer.getvalue())


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pickle payload ran",))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_is_rejected_without_being_unpickled(
    protocol: int, trained: dict[str, tuple[object, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    data = pickle.dumps([_Evil(), trained["logistic-full"][0]], protocol=protocol)
    with pytest.raises(PickleRejected, match="pickle"):
        validate_model(data, DIGITS)
    assert "pickle payload ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", NotOnnx),
        (b"\x08\x07garbage that is no protobuf \xff\xff\xff", NotOnnx),
        (b"GIF89a" + bytes(100), NotOnnx),
    ],
)
def test_malformed_files_are_rejected_with_a_named_error(data: bytes, error: type[ModelRejected]) -> None:
    with pytest.raises(error) as caught:
        validate_model(data, DIGITS)
    assert caught.value.code == error.code
    assert caught.value.reason


def test_truncated_and_oversized_models_are_rejected(trained: dict[str, tuple[object, bytes]]) -> None:
    data = trained["logistic-full"][1]
    with pytest.raises((NotOnnx, InvalidOnnx)):
        validate_model(data[: len(data) // 2], DIGITS)
    with pytest.raises(ModelTooLarge, match="cap"):
        validate_model(data, DIGITS, max_bytes=len(data) - 1)
    assert validate_model(data, DIGITS, max_bytes=len(data)).label_output == "label"


def test_a_model_for_another_task_is_rejected(trained: dict[str, tuple[object, bytes]]) -> None:
    with pytest.raises(UnexpectedSignature, match="expected \\[batch, 32\\]"):
        validate_model(trained["logistic-full"][1], ModelSignature(features=32, classes=10))


def _graph_model(
    node_domain: str = "", external: bool = False, input_type: int = TensorProto.FLOAT
) -> onnx.ModelProto:
    weight = helper.make_tensor("w", input_type, [64, 10], np.zeros(640).tolist())
    if external:
        weight.ClearField("float_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", "../../../etc/passwd"
    nodes = [
        helper.make_node("MatMul", ["input", "w"], ["scores"]),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0, domain=node_domain),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", input_type, [None, 64])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(node_domain, 1)] if node_domain else [])
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def test_a_hand_built_onnx_graph_is_admitted_and_runs(split: tuple[Dataset, Dataset]) -> None:
    model = validate_model(_graph_model().SerializeToString(), DIGITS)
    assert predict(model, split[1].x[:5]).tolist() == [0, 0, 0, 0, 0]


def test_external_data_and_custom_operators_are_rejected() -> None:
    with pytest.raises(ExternalDataRejected):
        validate_model(_graph_model(external=True).SerializeToString(), DIGITS)
    with pytest.raises(UnsupportedOperator, match=r"com\.evil"):
        validate_model(_graph_model(node_domain="com.evil").SerializeToString(), DIGITS)
    with pytest.raises(UnexpectedSignature, match="float32"):
        validate_model(_graph_model(input_type=TensorProto.DOUBLE).SerializeToString(), DIGITS)


def test_an_inconsistent_graph_fails_the_checker() -> None:
    model = _graph_model()
    model.graph.node[0].input[1] = "missing"
    with pytest.raises(InvalidOnnx, match="checker"):
        validate_model(model.SerializeToString(), DIGITS)


def test_a_model_the_runtime_cannot_run_is_an_evaluation_failure(split: tuple[Dataset, Dataset]) -> None:
    model = validate_model(_graph_model().SerializeToString(), DIGITS)
    with pytest.raises(EvaluationFailed):
        predict(model, split[1].x[:, :10])
