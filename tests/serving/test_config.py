"""Settings come from CHURN_* variables and refuse bad values."""

import pytest
from pydantic import ValidationError

from serving.config import DEV_PSEUDONYM_KEY, Settings


def test_defaults(monkeypatch):
    for var in ("CHURN_DATABASE_URL", "CHURN_MODE", "CHURN_PSEUDONYM_KEY", "CHURN_MODEL_URI"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.database_url == "sqlite:///var/churn.db"
    assert s.model_uri == "models:/churn@champion"
    assert s.pseudonym_secret == DEV_PSEUDONYM_KEY


def test_dev_key_matches_training():
    from training.config import DEV_PSEUDONYM_KEY as TRAINING_KEY

    assert TRAINING_KEY == DEV_PSEUDONYM_KEY


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("CHURN_DATABASE_URL", "postgresql://u@db:5432/churn")
    monkeypatch.setenv("CHURN_PORT", "9000")
    monkeypatch.setenv("CHURN_RISK_HIGH_THRESHOLD", "0.7")
    s = Settings()
    assert s.database_url == "postgresql+psycopg://u@db:5432/churn"
    assert s.port == 9000 and s.risk_high_threshold == 0.7


def test_production_needs_the_keys(monkeypatch):
    monkeypatch.delenv("CHURN_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CHURN_LINK_SECRET", raising=False)
    with pytest.raises(ValidationError, match="CHURN_PSEUDONYM_KEY"):
        Settings(mode="production")
    s = Settings(mode="production", pseudonym_key="k" * 32, link_secret="s" * 32)
    assert s.pseudonym_secret == "k" * 32


@pytest.mark.parametrize(
    "kwargs",
    [dict(database_url="mysql://x"), dict(model_uri="runs:/abc/model"),
     dict(risk_high_threshold=0.2, risk_medium_threshold=0.5), dict(risk_high_threshold=1.5),
     dict(admin_token="short"), dict(port=0), dict(public_base_url="ftp://x"),
     dict(max_batch=5000)],
)
def test_bad_values_refused(kwargs):
    with pytest.raises(ValidationError):
        Settings(**kwargs)


@pytest.mark.parametrize("name", ["pseudonym_key", "link_secret", "admin_token"])
@pytest.mark.parametrize("value", ["x" * 31, "short but not empty"])
def test_production_refuses_short_secrets(monkeypatch, name, value):
    """Issue 15: a secret shorter than 32 bytes is refused, naming the variable and how to
    generate one."""
    from serving.config import GENERATE

    good = {"pseudonym_key": "k" * 32, "link_secret": "s" * 32}
    env = f"CHURN_{name.upper()}"
    with pytest.raises(ValidationError) as info:
        Settings(mode="production", **(good | {name: value}))
    text = str(info.value)
    assert env in text and "32 bytes" in text and GENERATE in text


@pytest.mark.parametrize("name", ["pseudonym_key", "link_secret", "admin_token"])
def test_production_refuses_each_known_development_secret(name):
    from models.pseudonym import DEV_PSEUDONYM_KEY
    from serving.config import DEV_LINK_SECRET
    from tests.serving.conftest import ADMIN_TOKEN

    good = {"pseudonym_key": "k" * 32, "link_secret": "s" * 32}
    for known in (DEV_PSEUDONYM_KEY, DEV_LINK_SECRET, ADMIN_TOKEN):
        with pytest.raises(ValidationError, match=f"CHURN_{name.upper()} is a published"):
            Settings(mode="production", **(good | {name: known}))
    assert Settings(mode="production", **(good | {name: "z" * 32})).mode == "production"


def test_serve_refuses_a_weak_production_secret_at_start(monkeypatch, tmp_path):
    """The command line: one message naming the variable and the way to generate one."""
    import subprocess
    import sys

    from tests.serving.conftest import REPO

    env = {"PATH": "/usr/bin:/bin", "CHURN_MODE": "production",
           "CHURN_PSEUDONYM_KEY": "k" * 32, "CHURN_LINK_SECRET": "dev-only-link-secret-change-me",
           "CHURN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    r = subprocess.run([sys.executable, "-m", "serving.cli", "serve"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "CHURN_LINK_SECRET is a published development value" in r.stderr
    assert "secrets.token_urlsafe(48)" in r.stderr and "Traceback" not in r.stderr
