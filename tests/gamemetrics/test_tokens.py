"""The foundation's bearer tokens (gamemetrics/tokens.py): its own errors, which each API translates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gamemetrics.errors import TokenNotPermitted, TokenRejected, TokenRequestError
from gamemetrics.settings import TokenSettings, insecure_token_settings
from gamemetrics.tokens import bearer_token, issue_token, parse_ttl, verify_token

KEYS = TokenSettings(jwt_secret="a-test-secret-of-at-least-32-bytes!!")


def test_issue_verify_and_scope_in_foundation_errors():
    principal = verify_token(KEYS, issue_token(KEYS, "analyst", ["g1"], timedelta(hours=1)))
    assert principal.may_read("g1") and not principal.expired()
    with pytest.raises(TokenNotPermitted, match="game 'g2' is not among"):
        principal.require_game("g2")
    with pytest.raises(TokenRejected, match="signature does not verify"):
        verify_token(TokenSettings(jwt_secret="another-secret-another-secret-0123"),
                     issue_token(KEYS, "analyst", ["g1"], timedelta(hours=1)))
    with pytest.raises(TokenRejected, match="missing token"):
        bearer_token(None)
    with pytest.raises(TokenRequestError, match="positive duration"):
        parse_ttl("soon")


def test_the_development_secret_is_called_insecure():
    assert insecure_token_settings(TokenSettings()) and not insecure_token_settings(KEYS)
