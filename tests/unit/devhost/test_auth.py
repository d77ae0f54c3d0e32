import pytest

from devtools.devhost.auth import Keys, authorized, key_level, missing_key_settings, presented_key

KEYS = Keys(master="m-key", host="h-key", per_function={"special": "s-key"})


def test_header_wins_over_query_even_when_wrong():
    assert presented_key({"X-Functions-Key": "wrong"}, {"code": "h-key"}) == "wrong"
    assert not authorized("function", presented_key({"x-functions-key": "wrong"}, {"code": "h-key"}), KEYS, "f")


def test_query_code_is_used_when_no_header():
    assert presented_key({}, {"code": "h-key"}) == "h-key"
    assert authorized("function", "h-key", KEYS, "f")


@pytest.mark.parametrize(("key", "level"), [("m-key", "admin"), ("h-key", "function"), ("other", "anonymous"),
                                            (None, "anonymous"), ("", "anonymous")])
def test_key_levels(key, level):
    assert key_level(key, KEYS, "f") == level


def test_function_key_only_works_for_its_own_function():
    assert authorized("function", "s-key", KEYS, "Special")
    assert not authorized("function", "s-key", KEYS, "other")


def test_admin_level_needs_the_master_key():
    assert authorized("admin", "m-key", KEYS, "f")
    assert not authorized("admin", "h-key", KEYS, "f")
    assert not authorized("admin", "s-key", KEYS, "special")


def test_master_key_also_satisfies_function_level_and_anonymous_needs_nothing():
    assert authorized("function", "m-key", KEYS, "f")
    assert authorized("anonymous", None, KEYS, "f")


def test_missing_settings_only_matter_when_a_function_needs_them():
    assert missing_key_settings({"a": "anonymous"}, Keys()) == []
    assert missing_key_settings({"s": "function"}, Keys(per_function={"s": "x"})) == []
    problems = missing_key_settings({"f": "function", "g": "admin"}, Keys())
    assert "DEVHOST_FUNCTION_KEY" in problems[0] and "DEVHOST_MASTER_KEY" in problems[1]


def test_keys_from_environment():
    keys = Keys.from_environ({"DEVHOST_MASTER_KEY": "m", "DEVHOST_FUNCTION_KEY": "h", "DEVHOST_FUNCTION_KEY__Foo": "f"})
    assert (keys.master, keys.host, keys.per_function) == ("m", "h", {"foo": "f"})
