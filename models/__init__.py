"""The model contract shared by `training` (which builds it) and `serving` (which uses it)."""

from models.churn_model import ChurnModel, Contribution, Explanation, calibrate
from models.encoding import Encoder, FieldProblem, InvalidFeatures
from models.pseudonym import pseudonymise
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
    "calibrate",
    "pseudonymise",
    "readable_name",
    "reason_text",
]
