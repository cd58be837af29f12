"""The MLflow signature of a `ChurnModel`, and the check that a loaded model keeps it."""

from __future__ import annotations

from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from models.spec import ModelSpec


def signature_for(spec: ModelSpec) -> ModelSignature:
    """Input columns in model order with their types; output: the calibrated score."""
    inputs = Schema(
        [ColSpec(f.signature_type, f.name, required=not f.nullable) for f in spec.features]
    )
    outputs = Schema([ColSpec("double", "score")])
    return ModelSignature(inputs=inputs, outputs=outputs)


def signature_problems(signature: ModelSignature | None, spec: ModelSpec) -> list[str]:
    """Differences between a model's logged signature and its spec (empty when they agree)."""
    if signature is None or signature.inputs is None:
        return ["the model was logged without an input signature"]
    logged = [(c.name, str(c.type)) for c in signature.inputs.inputs]
    wanted = [(f.name, f.signature_type) for f in spec.features]
    logged_types = [(n, t.split(".")[-1].lower()) for n, t in logged]
    if logged_types != wanted:
        return [f"signature columns {logged_types} differ from the spec's features {wanted}"]
    return []
