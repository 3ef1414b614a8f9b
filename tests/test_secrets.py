"""Secret masks itself everywhere text is made; redact() scrubs known values out of foreign text."""

from __future__ import annotations

import copy
import json
import logging
import pickle

import pytest

from aci_widgets.secrets import MASK, Secret, redact, reveal

SENTINEL = "SENTINEL-SECRET-123"


def test_every_text_conversion_masks() -> None:
    secret = Secret(SENTINEL)
    texts = [str(secret), repr(secret), format(secret), f"{secret}", f"{secret!r}", f"{secret:>12}",
             repr([secret]), repr({"k": secret})]
    # the older formatting styles too: users and libraries still write them
    texts += ["%s" % secret, "{}".format(secret)]  # noqa: UP031, UP032
    for text in texts:
        assert SENTINEL not in text
        assert MASK in text


def test_reveal_returns_the_value() -> None:
    assert Secret(SENTINEL).reveal() == SENTINEL
    assert Secret(Secret(SENTINEL)).reveal() == SENTINEL
    assert reveal(Secret(SENTINEL)) == SENTINEL
    assert reveal("plain") == "plain"


def test_equality_and_hash_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert hash(Secret("a")) == hash(Secret("a"))
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    assert Secret("a") != "a"  # never equal to plain text: that would invite comparisons that leak
    assert bool(Secret("")) is False and bool(Secret("x")) is True


def test_secret_needs_text_and_is_immutable() -> None:
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]
    secret = Secret("x")
    with pytest.raises(AttributeError):
        secret._value = "y"  # type: ignore[misc]


def test_json_refuses_and_pickle_refuses() -> None:
    with pytest.raises(TypeError):
        json.dumps({"password": Secret(SENTINEL)})
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(SENTINEL))


def test_copies_keep_the_value() -> None:
    secret = Secret(SENTINEL)
    assert copy.copy(secret).reveal() == SENTINEL
    assert copy.deepcopy({"s": secret})["s"].reveal() == SENTINEL


def test_logging_masks(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("password is %s", Secret(SENTINEL))
    assert SENTINEL not in caplog.text
    assert MASK in caplog.text


def test_redact_replaces_every_occurrence_longest_first() -> None:
    text = f"error: {SENTINEL} rejected; retry with {SENTINEL}-2"
    assert redact(text, [SENTINEL]) == f"error: {MASK} rejected; retry with {MASK}-2"
    assert redact("abc abcdef", ["abc", "abcdef"]) == f"{MASK} {MASK}"
    assert redact("keep me", ["", None]) == "keep me"
    assert redact(f"x {SENTINEL}", [Secret(SENTINEL)]) == f"x {MASK}"
