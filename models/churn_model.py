"""`ChurnModel`: the MLflow pyfunc model both training and serving agree on.

It wraps a LightGBM booster (stored as LightGBM's own text format, no pickle), a
calibration map and the `ModelSpec`. It gives the calibrated score, the exact
TreeSHAP contributions of the raw log-odds margin (``base_value + sum(shap) ==
margin``) and a plain-language sentence per contribution.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow.pyfunc
import numpy as np
import pandas as pd

from models.encoding import Encoder, InvalidFeatures
from models.explain import Contribution, contributions, decoded_values
from models.explanation import Explanation
from models.spec import CalibrationSpec, ModelSpec
from models.treeshap import TreeTables

BOOSTER_ARTIFACT = "booster"
SPEC_ARTIFACT = "spec"
# Below this many rows, LightGBM's thread start-up costs more than it saves.
_SINGLE_THREAD_ROWS = 256


# LightGBM's C API: one row of float64 in, its contributions out (lightgbm/c_api.h)
_C_API_DTYPE_FLOAT64 = 1
_C_API_PREDICT_CONTRIB = 3


class _SingleRowContrib:
    """LightGBM's single-row fast prediction (`LGBM_BoosterPredictForMatSingleRowFast`)
    of the contributions: the predictor is set up once, not on every call as
    `Booster.predict` does (for one row the set-up costs about as much as the TreeSHAP
    pass itself). The same C++ TreeSHAP code runs: the values are bit for bit those of
    `predict(pred_contrib=True)` (tested). One per thread (a fast handle serialises its
    callers); it holds the booster, which so outlives it."""

    def __init__(self, booster: lgb.Booster, num_features: int) -> None:
        from lightgbm.basic import _LIB, _c_str, _safe_call

        self._lib, self._check = _LIB, _safe_call
        self.booster = booster
        self.width = num_features + 1
        self._handle = ctypes.c_void_p()
        # the call's buffers and their addresses, made once: building the ctypes pointers
        # on every call cost more than copying a row in and the contributions out
        self._row = np.empty(num_features, dtype=np.float64)
        self._out = np.empty((1, self.width), dtype=np.float64)
        self._length = ctypes.c_int64(0)
        self._args = (ctypes.c_void_p(self._row.ctypes.data), ctypes.byref(self._length),
                      ctypes.c_void_p(self._out.ctypes.data))
        self._predict = _LIB.LGBM_BoosterPredictForMatSingleRowFast
        # the iterations `Booster.predict` uses by default: the best one when training
        # stopped early, else all (-1)
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(_C_API_PREDICT_CONTRIB), ctypes.c_int(0),
            ctypes.c_int(booster.best_iteration), ctypes.c_int(_C_API_DTYPE_FLOAT64),
            ctypes.c_int32(num_features), _c_str("num_threads=1"),
            ctypes.byref(self._handle)))

    def __call__(self, row: np.ndarray) -> np.ndarray:
        """`row` (float64) -> (1, features + 1): contributions, base value."""
        self._row[:] = row
        length = self._length
        length.value = 0
        self._check(self._predict(self._handle, *self._args))
        if length.value != self.width:
            raise ValueError(f"LightGBM returned {length.value} values, not {self.width}")
        return self._out.copy()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None and self._handle.value:
            self._lib.LGBM_FastConfigFree(self._handle)


# No served probability is ever exactly 0 or 1: a model is never certain.
PROBABILITY_EPSILON = 1e-6


def _missing(value: Any) -> bool:
    """Whether a cell of a frame is a missing value of any of pandas' kinds."""
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and value != value)


# exp() of more overflows to inf (and warns); the probability is 0 to double precision
# either way, then raised to the floor below
_EXP_MAX = 700.0


def calibrate(margin: np.ndarray, calibration: CalibrationSpec) -> np.ndarray:
    """Map raw log-odds to calibrated probabilities, within the range the map saw in
    training and never exactly 0 or 1."""
    margin = np.asarray(margin, dtype=np.float64)
    if calibration.method == "isotonic":
        p = np.interp(margin, calibration.x, calibration.y)
    elif calibration.method == "sigmoid":
        p = 1.0 / (1.0 + np.exp(np.minimum(-(calibration.a * margin + calibration.b), _EXP_MAX)))
    else:
        p = 1.0 / (1.0 + np.exp(np.minimum(-margin, _EXP_MAX)))
    # np.clip's values, without its Python-level checks (which cost more than the map
    # itself for the one row of an online request)
    return np.minimum(np.maximum(p, max(calibration.low, PROBABILITY_EPSILON)),
                      min(calibration.high, 1.0 - PROBABILITY_EPSILON))


class ChurnModel(mlflow.pyfunc.PythonModel):
    """Calibrated, explained churn model.

    Build it with `from_parts` (training, tests) or let MLflow call `load_context`
    (serving). `predict` is the bare pyfunc interface (a DataFrame in, scores out);
    `explain` / `contributions` give the exact explanation.
    """

    def __init__(self) -> None:
        self.booster: lgb.Booster | None = None
        self.spec: ModelSpec | None = None
        self.encoder: Encoder | None = None

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_parts(cls, booster: lgb.Booster | str, spec: ModelSpec) -> ChurnModel:
        """Assemble a ready model from a booster (object or model text) and its spec."""
        model = cls()
        model._attach(
            booster if isinstance(booster, lgb.Booster) else lgb.Booster(model_str=booster),
            spec,
        )
        return model

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Called by MLflow when the model is loaded: read booster and spec artifacts."""
        booster = lgb.Booster(model_file=context.artifacts[BOOSTER_ARTIFACT])
        spec = ModelSpec.model_validate_json(
            Path(context.artifacts[SPEC_ARTIFACT]).read_text(encoding="utf-8")
        )
        self._attach(booster, spec)

    def _attach(self, booster: lgb.Booster, spec: ModelSpec) -> None:
        if booster.num_feature() != len(spec.features):
            raise ValueError(
                f"booster expects {booster.num_feature()} features but the spec lists "
                f"{len(spec.features)}; the model artifacts do not belong together"
            )
        self.booster = booster
        self.spec = spec
        self.encoder = Encoder(spec)

    def __getstate__(self) -> dict[str, Any]:
        # MLflow pickles the model object: the per-thread C handles stay behind
        state = self.__dict__.copy()
        state.pop("_single_row", None)
        state.pop("_shap_tables", None)
        return state

    def save_artifacts(self, folder: Path) -> dict[str, str]:
        """Write the booster and spec into `folder`; returns MLflow's `artifacts` map."""
        folder.mkdir(parents=True, exist_ok=True)
        booster_path = folder / "booster.txt"
        spec_path = folder / "spec.json"
        self._ready().save_model(str(booster_path))
        spec_path.write_text(self._spec().model_dump_json(indent=2), encoding="utf-8")
        return {BOOSTER_ARTIFACT: str(booster_path), SPEC_ARTIFACT: str(spec_path)}

    # -- scoring -------------------------------------------------------------------
    def explain(self, X: np.ndarray, num_threads: int | None = None) -> Explanation:
        """Score and explain already-encoded rows in one TreeSHAP pass.

        `num_threads` caps LightGBM's threads (default: one for small blocks, else all
        cores); parallel workers pass 1 so they do not oversubscribe the machine."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        return self.explanation(X, self.phi(X, num_threads))

    def phi(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Exact TreeSHAP output for encoded rows: one column per feature, then the base
        value. Each row's values depend on that row alone, to the last bit, whether it
        comes alone or in a block (an online receipt and a batch receipt of the same row
        are byte-identical).

        Models of small trees (`models.treeshap`: the default) are explained by table,
        each tree's contributions computed once at load; others by LightGBM's own
        TreeSHAP, where `num_threads` caps its threads (default: one for small blocks,
        else all cores)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        tables = self._tables()
        if tables is not None:
            return tables.row(X[0]) if len(X) == 1 else tables.block(X)
        if len(X) == 0:  # LightGBM refuses an empty block
            return np.empty((0, self._ready().num_feature() + 1))
        if len(X) == 1:  # one online request: the predictor set up once per thread
            return self._single_row_contrib()(X[0])
        threads = num_threads if num_threads is not None else (
            1 if len(X) < _SINGLE_THREAD_ROWS else 0)
        phi = self._ready().predict(X, pred_contrib=True, num_threads=threads)
        return np.asarray(phi, dtype=np.float64)

    @property
    def explained_by_table(self) -> bool:
        """Whether `phi` reads the trees' contributions from tables (`models.treeshap`)
        rather than running LightGBM's TreeSHAP."""
        return self._tables() is not None

    def _tables(self) -> TreeTables | None:
        """The booster's TreeSHAP tables, built on first use (None: not covered)."""
        booster = self._ready()
        cached = self.__dict__.get("_shap_tables")
        if cached is None or cached[0] is not booster:
            cached = self.__dict__["_shap_tables"] = (booster, TreeTables.build(booster))
        return cached[1]

    def _single_row_contrib(self) -> _SingleRowContrib:
        """This thread's fast single-row predictor of the booster (made on first use)."""
        local = self.__dict__.get("_single_row")
        if local is None:
            local = self.__dict__.setdefault("_single_row", threading.local())
        fast = getattr(local, "fast", None)
        booster = self._ready()
        if fast is None or fast.booster is not booster:
            fast = local.fast = _SingleRowContrib(booster, booster.num_feature())
        return fast

    def explanation(self, X: np.ndarray, phi: np.ndarray) -> Explanation:
        """Scores and contributions of encoded rows `X` from their `phi` (see `phi`)."""
        margin = np.add.reduce(phi, axis=1)  # `phi.sum(axis=1)`, without its wrapper
        base = float(phi[0, -1]) if len(phi) else self._spec().base_value
        return Explanation(
            X=X,
            margin=margin,
            score=calibrate(margin, self._spec().calibration),
            shap=phi[:, :-1],
            base_value=base,
        )

    def explain_records(self, records: list[dict[str, Any]]) -> Explanation:
        """Validate, encode, score and explain dict records (raises `InvalidFeatures`)."""
        return self.explain(self._encoder().encode_records(records))

    def explain_frame(self, frame: pd.DataFrame) -> Explanation:
        return self.explain(self._encoder().encode_frame(frame))

    def raw_margin(self, X: np.ndarray) -> np.ndarray:
        """LightGBM's raw log-odds without contributions (for checks and training)."""
        return np.asarray(self._ready().predict(X, raw_score=True), dtype=np.float64)

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities only."""
        X = self._encoder().encode_frame(frame)
        return calibrate(self.raw_margin(X), self._spec().calibration)

    def contributions(
        self, explanation: Explanation, row: int, lang: str = "en", top: int | None = None
    ) -> list[Contribution]:
        """Row `row`'s contributions, largest |shap| first, each with its sentence."""
        spec = self._spec()
        values = decoded_values(spec, explanation.X[row])
        return contributions(spec, values, explanation.shap[row], lang, top)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The pyfunc interface: calibrated churn probability per row. Rows are held to the
        service's own rules first (`check_frame`): whoever loads the registered model gets
        a refusal naming the row and the field, never a score of a value it cannot read."""
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        self.check_frame(model_input)
        return pd.DataFrame({"score": self.score_frame(model_input)})

    def check_frame(self, frame: pd.DataFrame) -> None:
        """Raise `InvalidFeatures` for the first row the model cannot score as it is: an
        unseen category, text for a number, a value outside the contract (the rules of
        `Encoder.problems`, which the API applies). `score_frame` alone reads such a value
        as missing, for data a dataset schema has checked upstream; a pyfunc caller has
        had no such check. Columns the model does not use are left alone."""
        encoder = self._encoder()
        used = [n for n in encoder.names if n in frame.columns]
        # plain Python values, a missing one (NaN, None, pd.NA, NaT) as the API receives
        # it: null (a column at a time: pandas' frame conversions cost a millisecond a call,
        # twice the score)
        columns = [frame[n].tolist() for n in used]
        for r, values in enumerate(zip(*columns, strict=True)):
            record = {n: None if _missing(v) else v for n, v in zip(used, values, strict=True)}
            found = encoder.problems(record)
            if found:
                raise InvalidFeatures(found, row=r if len(frame) > 1 else None)

    @property
    def feature_names(self) -> list[str]:
        return self._spec().feature_names

    def _ready(self) -> lgb.Booster:
        if self.booster is None:
            raise RuntimeError("ChurnModel has no booster yet: load it through MLflow "
                               "or build it with ChurnModel.from_parts")
        return self.booster

    def _spec(self) -> ModelSpec:
        if self.spec is None:
            raise RuntimeError("ChurnModel has no spec yet: load it first")
        return self.spec

    def _encoder(self) -> Encoder:
        if self.encoder is None:
            raise RuntimeError("ChurnModel has no encoder yet: load it first")
        return self.encoder
