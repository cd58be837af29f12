"""The model contract shared by `training` (which builds it) and `serving` (which uses it)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.churn_model import ChurnModel, calibrate
    from models.encoding import Encoder, FieldProblem, InvalidFeatures
    from models.explain import Contribution
    from models.explanation import Explanation
    from models.pseudonym import Pseudonymiser, pseudonymise
    from models.reasons import reason_text
    from models.spec import (
        CalibrationSpec,
        DecisionSpec,
        FeatureSpec,
        Localized,
        ModelSpec,
        readable_name,
    )

# Each name is imported from its module on first use (PEP 562), not here: a process that
# only needs `models.settings` or `models.spec` (a command line that fails fast, say) does
# not pay for LightGBM and MLflow, and the server decides how LightGBM is imported
# (`serving.system.lean`) before anything imports it.
_HOME = {
    "ChurnModel": "churn_model", "Explanation": "explanation", "calibrate": "churn_model",
    "Encoder": "encoding", "FieldProblem": "encoding", "InvalidFeatures": "encoding",
    "Contribution": "explain", "Pseudonymiser": "pseudonym", "pseudonymise": "pseudonym",
    "reason_text": "reasons", "CalibrationSpec": "spec", "DecisionSpec": "spec",
    "FeatureSpec": "spec", "Localized": "spec", "ModelSpec": "spec", "readable_name": "spec",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(import_module(f"models.{home}"), name)
    globals()[name] = value  # once: later reads are plain attribute reads
    return value


__all__ = [
    "CalibrationSpec",
    "ChurnModel",
    "Contribution",
    "DecisionSpec",
    "Encoder",
    "Explanation",
    "FeatureSpec",
    "FieldProblem",
    "InvalidFeatures",
    "Localized",
    "ModelSpec",
    "Pseudonymiser",
    "calibrate",
    "pseudonymise",
    "readable_name",
    "reason_text",
]
