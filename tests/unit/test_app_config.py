"""Settings resolution: environment, then explicit overrides; derived paths; clear errors."""
import pytest

from app.config import ConfigError, as_bool, load_config, persistent_secret_key


def test_defaults_follow_the_contract(tmp_path):
    config = load_config({"IRONWATCH_VAR": str(tmp_path)}, environ={})
    assert config["IRONWATCH_INFLUX_URL"] == "http://127.0.0.1:8186"
    assert config["IRONWATCH_INFLUX_DB"] == "ironwatch"
    assert config["IRONWATCH_PORT"] == 8000
    assert config["IRONWATCH_RAW_RETENTION_DAYS"] == 30
    assert config["IRONWATCH_DATABASE_URL"] == f"sqlite:///{tmp_path / 'ironwatch.db'}"
    assert config["IRONWATCH_SPOOL_DIR"] == str((tmp_path / "spool").resolve())
    assert config["START_BACKGROUND"] is True


def test_environment_is_read_and_overrides_win(tmp_path):
    environ = {"IRONWATCH_INFLUX_DB": "from_env", "IRONWATCH_PORT": "9001", "IRONWATCH_VAR": str(tmp_path)}
    config = load_config({"IRONWATCH_PORT": 9100, "START_BACKGROUND": "0", "TESTING": True}, environ=environ)
    assert config["IRONWATCH_INFLUX_DB"] == "from_env"
    assert config["IRONWATCH_PORT"] == 9100
    assert config["START_BACKGROUND"] is False
    assert config["TESTING"] is True
    other = load_config({"IRONWATCH_VAR": str(tmp_path)}, environ={"IRONWATCH_SPOOL_DIR": str(tmp_path / "spool-b")})
    assert other["IRONWATCH_SPOOL_DIR"] == str((tmp_path / "spool-b").resolve())  # a second web process's own


def test_bad_integer_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="IRONWATCH_PORT"):
        load_config({"IRONWATCH_VAR": str(tmp_path)}, environ={"IRONWATCH_PORT": "eighty"})


def test_secret_key_is_random_per_install_and_stable(tmp_path):
    first = persistent_secret_key(tmp_path / "a")
    assert first == persistent_secret_key(tmp_path / "a")
    assert first != persistent_secret_key(tmp_path / "b")
    assert len(first) >= 40
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0


def test_explicit_secret_key_is_used(tmp_path):
    config = load_config({"IRONWATCH_VAR": str(tmp_path), "SECRET_KEY": "given"}, environ={})
    assert config["SECRET_KEY"] == "given"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("word, expected", [("1", True), ("yes", True), ("TRUE", True), ("0", False),
                                            ("no", False), ("", False), (True, True), (0, False)])
def test_as_bool(word, expected):
    assert as_bool(word) is expected
