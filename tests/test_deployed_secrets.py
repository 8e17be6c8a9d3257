"""A deployed function (AWS_LAMBDA_FUNCTION_NAME set) refuses development or weak secrets at import
(chalicelib/config.py); elsewhere (tests, the local server, chalice local) nothing is refused."""
import pytest

from chalicelib.config import DEV_PEPPER, ConfigurationError, derived_secret, refuse_development_secrets

GOOD = "p" * 48
LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "rokka-clone-prod-APIHandler"}


def test_outside_lambda_nothing_is_refused():
    refuse_development_secrets({})
    refuse_development_secrets({"KEY_PEPPER": DEV_PEPPER, "STORAGE": "aws"})


def test_a_real_pepper_starts():
    refuse_development_secrets({**LAMBDA, "KEY_PEPPER": GOOD})
    refuse_development_secrets({**LAMBDA, "KEY_PEPPER": GOOD, "JWT_SECRET": "j" * 40})


@pytest.mark.parametrize("env, says", [
    ({}, "KEY_PEPPER is unset or the development pepper"),
    ({"KEY_PEPPER": DEV_PEPPER}, "KEY_PEPPER is unset or the development pepper"),
    ({"KEY_PEPPER": "short"}, "shorter than 32"),
    ({"KEY_PEPPER": "{{resolve:secretsmanager:x:SecretString:key_pepper}}"}, "unresolved dynamic reference"),
    ({"KEY_PEPPER": GOOD, "JWT_SECRET": derived_secret(DEV_PEPPER, "jwt")}, "JWT_SECRET is the development"),
    ({"KEY_PEPPER": GOOD, "JWT_SECRET": DEV_PEPPER}, "JWT_SECRET is the development"),
])
def test_development_or_weak_secrets_stop_the_cold_start(env, says):
    with pytest.raises(ConfigurationError) as err:
        refuse_development_secrets({**LAMBDA, **env})
    assert says in str(err.value)
    assert "refusing to start rokka-clone-prod-APIHandler" in str(err.value) and "make deploy" in str(err.value)
