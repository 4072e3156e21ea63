"""The default-model command (`python -m fleet.rul_training`) end to end: simulate, train, evaluate,
register, promote, skip."""
import pytest
from sqlalchemy import select

from diagnostics.prognostics import default_models
from fleet import db, rul_training
from fleet.model_registry import ModelRegistry
from fleet.models import RulModel

pytestmark = pytest.mark.integration


def test_rul_training_registers_promotes_and_then_skips(sql_url, session_factory, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IRONWATCH_DATABASE_URL", sql_url)
    monkeypatch.setenv("IRONWATCH_VAR", str(tmp_path))
    args = ["--kinds", "alternator_bearing", "--units", "4", "--workers", "1"]
    assert rul_training.main(args) == 0
    table = capsys.readouterr().out
    assert "| alternator_bearing | 3/1 |" in table

    registry = ModelRegistry(session_factory, var_dir=tmp_path)
    active = registry.active("alternator_bearing")
    assert active.version == "alternator_bearing-v1"
    assert {"held_out", "held_out_late_start", "recipe", "file_sha256"} <= set(active.metrics)
    assert 0.0 <= active.metrics["held_out"]["p10_p90_coverage"] <= 1.0
    record, estimator = registry.load("alternator_bearing")
    assert estimator.metadata["cadence_hours"] == default_models.CADENCE_H
    assert estimator.channels == list(default_models.HISTORY_CHANNELS)

    # Same recipe: nothing new; --if-missing: nothing new either.
    assert rul_training.main(args) == 0 and rul_training.main(args + ["--if-missing"]) == 0
    with session_factory() as session:
        assert len(session.scalars(select(RulModel)).all()) == 1
    assert "up to date" in capsys.readouterr().out


def test_unknown_kind_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("IRONWATCH_VAR", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        rul_training.main(["--kinds", "flux_capacitor", "--no-register"])
    assert exc.value.code == 2
