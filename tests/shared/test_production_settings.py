"""Production refuses example values and development conveniences at start."""

import pytest
from pydantic import SecretStr, ValidationError

from services.enrollment.config import EnrollmentSettings, voucher_key
from shared.settings import Settings

EXAMPLE = "CHANGE-ME-placeholder-voucher-secret-at-least-32-characters"


def test_an_example_password_stops_a_production_process():
    with pytest.raises(ValidationError, match="YIBAO_DB_ROLE_PASSWORD"):
        Settings(env="production", db_role_password="CHANGE-ME-placeholder-role-password")
    url = "postgresql://yibao_claims:CHANGE-ME@db:5432/yibao"
    with pytest.raises(ValidationError, match="YIBAO_DATABASE_URL"):
        Settings(env="production", database_url=url)
    # Development keeps working with whatever it is given.
    assert Settings(env="development", database_url=url).database_url == url


def test_the_example_voucher_secret_is_refused_in_production(tmp_path):
    own = EnrollmentSettings(voucher_secret=SecretStr(EXAMPLE))
    with pytest.raises(RuntimeError, match="example value"):
        voucher_key(Settings(env="production", data_dir=tmp_path), own)
    assert voucher_key(Settings(env="development", data_dir=tmp_path), own) == EXAMPLE.encode()
    with pytest.raises(RuntimeError, match="must be set in production"):
        voucher_key(Settings(env="production", data_dir=tmp_path), EnrollmentSettings())
