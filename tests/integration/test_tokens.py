import pytest

from komet import tokens


def test_token_round_trips_for_its_purpose(app):
    with app.app_context():
        token = tokens.make_token(tokens.PASSWORD_RESET, 7, "state-a")
        assert tokens.read_token(tokens.PASSWORD_RESET, token, max_age=60) == (7, "state-a")


def test_token_for_another_purpose_is_invalid(app):
    with app.app_context():
        token = tokens.make_token("company-link", 7, "s")
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token(tokens.PASSWORD_RESET, token, max_age=60)


def test_tampered_token_is_invalid(app):
    with app.app_context():
        token = tokens.make_token(tokens.PASSWORD_RESET, 7, "s")
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token(tokens.PASSWORD_RESET, token[:-2] + "xx", max_age=60)


def test_expired_token_says_expired(app):
    with app.app_context():
        token = tokens.make_token(tokens.PASSWORD_RESET, 7, "s")
        with pytest.raises(tokens.InvalidToken) as error:
            tokens.read_token(tokens.PASSWORD_RESET, token, max_age=-1)
        assert error.value.reason == "expired"
