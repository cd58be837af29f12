"""The model contract shared by `training` (which builds it) and `serving` (which uses it)."""

from models.churn_model import ChurnModel, Explanation, calibrate
from models.encoding import Encoder, FieldProblem, InvalidFeatures
from models.explain import Contribution
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
