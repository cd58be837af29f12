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
