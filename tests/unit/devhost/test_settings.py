import json

import pytest

from devtools.devhost.settings import (
    AZURITE_DEFAULT,
    SettingsError,
    apply_settings,
    connection_setting_name,
    find_settings_file,
    read_settings,
    storage_connection_string,
)


def write(path, values, **extra):
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values, **extra}))
    return path


def test_local_settings_preferred_then_sample(tmp_path):
    write(tmp_path / "local.settings.sample.json", {"A": "sample"})
    assert find_settings_file(tmp_path).name == "local.settings.sample.json"
    write(tmp_path / "local.settings.json", {"A": "local"})
    assert find_settings_file(tmp_path).name == "local.settings.json"


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(SettingsError, match=r"copy local\.settings\.sample\.json"):
        find_settings_file(tmp_path)
    with pytest.raises(SettingsError, match="not found"):
        find_settings_file(tmp_path, tmp_path / "x.json")


def test_bad_files_are_rejected(tmp_path):
    (tmp_path / "a.json").write_text("{nope")
    with pytest.raises(SettingsError, match="not valid JSON"):
        read_settings(tmp_path / "a.json")
    with pytest.raises(SettingsError, match="IsEncrypted"):
        read_settings(write(tmp_path / "b.json", {}, IsEncrypted=True))
    with pytest.raises(SettingsError, match="must be a string"):
        read_settings(write(tmp_path / "c.json", {"X": {"nested": 1}}))


def test_scalars_become_strings(tmp_path):
    values = read_settings(write(tmp_path / "s.json", {"N": 3, "B": True, "Z": None}, Host={"LocalHttpPort": 7})).values
    assert values == {"N": "3", "B": "true"}


def test_process_environment_wins_except_when_empty():
    env = {"A": "from-env", "B": ""}
    skipped = apply_settings({"A": "file", "B": "file", "C": "file"}, env)
    assert env == {"A": "from-env", "B": "file", "C": "file"}
    assert skipped == ["A"]


def test_connection_name_rules():
    env = {"AzureWebJobsStorage": "s", "AzureWebJobsOther": "o", "Exact": "e", "AzureWebJobsExact": "x"}
    assert connection_setting_name("", env) == "AzureWebJobsStorage"
    assert connection_setting_name("Storage", env) == "AzureWebJobsStorage"
    assert connection_setting_name("Other", env) == "AzureWebJobsOther"
    assert connection_setting_name("Exact", env) == "Exact"


def test_development_storage_means_azurite_defaults():
    assert storage_connection_string("", {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}) == AZURITE_DEFAULT
    with pytest.raises(SettingsError, match="not set"):
        storage_connection_string("Missing", {})
    with pytest.raises(SettingsError, match="identity"):
        storage_connection_string("", {"AzureWebJobsStorage__accountName": "acct"})
