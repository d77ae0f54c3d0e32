import json
import os

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


def test_overrides_win_and_everything_is_restored(monkeypatch):
    from devtools.devhost.settings import EnvironmentScope, load_into_environment

    monkeypatch.setenv("DH_T_ENV", "env")
    monkeypatch.delenv("DH_T_NEW", raising=False)
    monkeypatch.delenv("AZURE_FUNCTIONS_ENVIRONMENT", raising=False)
    scope = EnvironmentScope()
    skipped = load_into_environment({"DH_T_ENV": "file", "DH_T_NEW": "file", "DH_T_OVR": "file"},
                                    {"DH_T_OVR": "override"}, scope)
    assert skipped == ["DH_T_ENV", "DH_T_OVR"]
    assert (os.environ["DH_T_ENV"], os.environ["DH_T_NEW"], os.environ["DH_T_OVR"]) == ("env", "file", "override")
    assert os.environ["AZURE_FUNCTIONS_ENVIRONMENT"] == "Development"
    scope.restore()
    assert os.environ["DH_T_ENV"] == "env"
    assert "DH_T_NEW" not in os.environ and "DH_T_OVR" not in os.environ
    assert "AZURE_FUNCTIONS_ENVIRONMENT" not in os.environ


class TestDisabledSetting:
    def test_true_in_any_case_or_one_disables(self):
        from devtools.devhost.settings import is_disabled

        assert is_disabled("work", {"AzureWebJobs.work.Disabled": "True"})
        assert is_disabled("work", {"AzureWebJobs.work.Disabled": "1"})
        assert not is_disabled("work", {"AzureWebJobs.work.Disabled": "false"})
        assert not is_disabled("work", {"AzureWebJobs.other.Disabled": "true"})
        assert not is_disabled("work", {})
