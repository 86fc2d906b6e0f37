import pytest

from aiflywheel.errors import InvalidInput
from aiflywheel.settings import Settings


def test_defaults_live_under_home(tmp_path):
    s = Settings.build(home=tmp_path, environ={})
    assert s.store_url == f"sqlite:///{tmp_path / 'flywheel.db'}"
    assert s.artifacts_url == str(tmp_path / "artifacts")
    assert s.workers >= 1 and s.executor == "process"


def test_flags_beat_environment_beats_defaults(tmp_path):
    env = {"FLYWHEEL_HOME": str(tmp_path / "env"), "FLYWHEEL_STORE": "sqlite:///env.db", "FLYWHEEL_WORKERS": "3"}
    from_env = Settings.build(environ=env)
    assert from_env.home == tmp_path / "env" and from_env.store_url == "sqlite:///env.db" and from_env.workers == 3
    flagged = Settings.build(home=tmp_path / "flag", store="sqlite:///flag.db", workers=1, environ=env)
    assert flagged.home == tmp_path / "flag" and flagged.store_url == "sqlite:///flag.db" and flagged.workers == 1


def test_default_home_is_in_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings.build(environ={}).home == tmp_path / "flywheel"


@pytest.mark.parametrize("env", [{"FLYWHEEL_WORKERS": "many"}, {"FLYWHEEL_EXECUTOR": "cluster"}])
def test_bad_settings_name_the_setting(tmp_path, env):
    with pytest.raises(InvalidInput, match="setting (workers|executor)"):
        Settings.build(home=tmp_path, environ=env)
