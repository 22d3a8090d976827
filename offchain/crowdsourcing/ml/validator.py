"""Admission of untrusted model files: ONNX only, never a pickle.

A submitted file is parsed as an ONNX protobuf (no code runs while parsing), then checked: size cap, the
ONNX checker, operator domains limited to the standard ones, no external-data references (which would make
the runtime read files named by the submitter), one float input ``[batch, features]`` and an integer label
output ``[batch]``. Anything else raises a subclass of :class:`ModelRejected` naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

#: Default size cap of a submitted model (the example models are 10–600 kB).
DEFAULT_MAX_MODEL_BYTES = 4 << 20
#: Operator domains a model may use: ONNX's default and ONNX-ML (what skl2onnx emits).
ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
#: First bytes of pickle streams (protocol 2+ opens with PROTO 0x80; 0 and 1 with MARK, EMPTY_LIST
#: or EMPTY_DICT).
#: An ONNX file opens with field 1 (``ir_version``, tag 0x08).
_PICKLE_OPENERS = (b"\x80", b"(", b"]", b"}")
_INTEGER_TYPES = frozenset(
    {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.UINT8, onnx.TensorProto.INT8}
)


class ModelRejected(Exception):  # noqa: N818 (a verdict, not a program error)
    """A submitted model file was refused; ``code`` names the reason for logs and 4xx answers."""

    code = "model-rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelTooLarge(ModelRejected):
    code = "model-too-large"


class PickleRejected(ModelRejected):
    code = "pickle-rejected"


class NotOnnx(ModelRejected):
    code = "not-onnx"


class InvalidOnnx(ModelRejected):
    code = "invalid-onnx"


class ExternalDataRejected(ModelRejected):
    code = "external-data-rejected"


class UnsupportedOperator(ModelRejected):
    code = "unsupported-operator"


class UnexpectedSignature(ModelRejected):
    code = "unexpected-signature"


@dataclass(frozen=True)
class ModelSignature:
    """What the task expects: ``features`` float inputs per sample, an integer label per sample."""

    features: int
    classes: int


@dataclass(frozen=True)
class ValidatedModel:
    """A model that passed every check: its bytes (to hand to onnxruntime) and tensor names."""

    data: bytes
    input_name: str
    label_output: str
    opset: int


def _dims(value_info: onnx.ValueInfoProto) -> list[int | str]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in shape.dim]


def _has_external_data(model: onnx.ModelProto) -> bool:
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                tensors.append(attribute.t)
            tensors.extend(attribute.tensors)
    return any(t.data_location == onnx.TensorProto.EXTERNAL or len(t.external_data) > 0 for t in tensors)


def validate_model(
    data: bytes, signature: ModelSignature, max_bytes: int = DEFAULT_MAX_MODEL_BYTES
) -> ValidatedModel:
    """Check an untrusted model file; return it with its tensor names, or raise :class:`ModelRejected`."""
    if len(data) > max_bytes:
        raise ModelTooLarge(f"model file is {len(data)} bytes, the cap is {max_bytes}")
    if not data:
        raise NotOnnx("model file is empty")
    if data[:1] in _PICKLE_OPENERS:
        raise PickleRejected("model file looks like a Python pickle; only ONNX is accepted (never unpickled)")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise NotOnnx(f"model file is not an ONNX protobuf: {exc}") from None
    if model.ir_version == 0 or not model.opset_import or len(model.graph.node) == 0:
        raise NotOnnx("model file parses but holds no ONNX graph (no IR version, opset or nodes)")
    if _has_external_data(model):
        raise ExternalDataRejected("model references external tensor data; only self-contained models")
    domains = {opset.domain for opset in model.opset_import} | {node.domain for node in model.graph.node}
    unknown = sorted(domain for domain in domains if domain not in ALLOWED_DOMAINS)
    if unknown:
        raise UnsupportedOperator(f"operator domains {unknown} are not allowed (only ONNX and ONNX-ML)")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError, ValueError) as exc:
        raise InvalidOnnx(f"ONNX checker: {str(exc).splitlines()[0][:300]}") from None
    initializers = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializers]
    if len(inputs) != 1:
        raise UnexpectedSignature(f"expected one input, found {len(inputs)}")
    source = inputs[0]
    if source.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise UnexpectedSignature(f"input {source.name!r} must be float32")
    dims = _dims(source)
    if (
        len(dims) != 2
        or dims[1] != signature.features
        or (isinstance(dims[0], int) and dims[0] not in (0, 1))
    ):
        raise UnexpectedSignature(
            f"input {source.name!r} has shape {dims}, expected [batch, {signature.features}]"
        )
    labels = [
        value
        for value in model.graph.output
        if value.type.tensor_type.elem_type in _INTEGER_TYPES and len(_dims(value)) in (1, 2)
    ]
    if not labels:
        raise UnexpectedSignature("no integer label output of shape [batch] (export with zipmap disabled)")
    label = labels[0]
    label_dims = _dims(label)
    if len(label_dims) == 2 and label_dims[1] != 1:
        raise UnexpectedSignature(f"label output {label.name!r} has shape {label_dims}, expected [batch]")
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return ValidatedModel(data=data, input_name=source.name, label_output=label.name, opset=opset)
