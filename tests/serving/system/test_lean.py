"""What the server process leaves out of its imports (`serving.system.lean`), and the light
command line that lets it. What `serve` imports is checked in a fresh interpreter, as
`serve` starts one; what it must not change is compared with this process."""

from __future__ import annotations

import json
import subprocess
import sys

from serving.system.lean import leave_out_unused
from tests.artefacts import Trained
from tests.serving.conftest import REPO


def _run(code: str) -> dict:
    """`code` in a new interpreter of this venv; what it printed last, as JSON."""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_command_line_imports_neither_lightgbm_nor_mlflow_before_it_serves():
    """`serve` refuses an unusable database before the app's imports, and leaves
    scikit-learn out before anything imports LightGBM: neither is possible if importing the
    command line (or `models.settings`) already pulled in LightGBM and MLflow."""
    seen = _run("import json, sys, serving.cli, models.settings, models.spec\n"
                "print(json.dumps({m: m in sys.modules for m in "
                "('lightgbm', 'mlflow', 'sklearn', 'pandas')}))")
    assert seen == {"lightgbm": False, "mlflow": False, "sklearn": False, "pandas": False}


def test_the_writer_process_imports_neither_lightgbm_nor_mlflow():
    """The writer process's fork server imports what the writer needs (`WRITER_STORE`'s
    module): it stores explanations, it never computes them, so each start of `serve` does
    not import LightGBM and MLflow a second time on the other core."""
    seen = _run("import json, sys\n"
                "from serving.scoring import WRITER_STORE\n"
                "import serving.storage.writerproc, importlib\n"
                "importlib.import_module(WRITER_STORE.split(':')[0])\n"
                "print(json.dumps({m: m in sys.modules for m in ('lightgbm', 'mlflow')}))")
    assert seen == {"lightgbm": False, "mlflow": False}


def test_the_server_scores_and_explains_without_scikit_learn(trained: Trained):
    """With scikit-learn left out, the registered model loads through MLflow and scores and
    explains a record exactly as it does in a process that has scikit-learn; the app's
    imports pull in neither scikit-learn nor SciPy's statistics."""
    code = f"""
import json, sys
from serving.system.lean import leave_out_unused
assert leave_out_unused()
import lightgbm, mlflow
import serving.main  # every router, as `serve` imports them
from tests.artefacts import load_champion, Trained
model = load_champion(Trained(**{trained.__dict__!r}))
from training.synthetic import generate
frame = generate(5, seed=3)
ex = model.explain_records(frame[list(model.feature_names)].to_dict("records"))
print(json.dumps({{"sklearn": lightgbm.compat.SKLEARN_INSTALLED,
                  "stats": "scipy.stats" in sys.modules,
                  "score": ex.score.tolist(), "shap": ex.shap.tolist()}}))
"""
    lean = _run(code)
    assert lean["sklearn"] is False and lean["stats"] is False
    # the same in this process, which has scikit-learn (the training code imports it)
    import lightgbm

    from tests.artefacts import load_champion
    from training.synthetic import generate

    assert lightgbm.compat.SKLEARN_INSTALLED
    model = load_champion(trained)
    frame = generate(5, seed=3)
    full = model.explain_records(frame[list(model.feature_names)].to_dict("records"))
    assert lean["score"] == full.score.tolist()  # to the last bit
    assert lean["shap"] == full.shap.tolist()


def test_it_does_nothing_once_lightgbm_is_imported():
    """In a process that already imported LightGBM (this one, or any that trains) it
    changes nothing: scikit-learn stays importable."""
    import lightgbm  # noqa: F401

    assert leave_out_unused() is False
    import sklearn

    assert sklearn is not None and sys.modules["sklearn"] is not None
