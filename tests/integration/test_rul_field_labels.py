"""The feedback loop into the RUL training: a component replaced for a confirmed fault becomes a
run-to-failure life (its features from InfluxDB, its true RUL from the replacement time)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from diagnostics.degradation import HISTORY_CHANNELS, run_to_failure_fleet
from diagnostics.prognostics.default_models import field_histories, profiles_from_catalogue, train_kind
from fleet import rul_training, seed
from fleet.demo_fleet import COMPONENTS_BY_KIND
from fleet.feedback import Outcome, write_labels
from telemetry.store import BurstMeta, TelemetryStore

pytestmark = pytest.mark.integration
KIND = "alternator_bearing"


def test_replaced_components_join_the_training_with_their_true_remaining_life(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    profile = next(p for p in profiles_from_catalogue(COMPONENTS_BY_KIND) if p.kind == KIND)
    life = run_to_failure_fleet(profile, 1, seed=7)  # stands in for what the bearing reported in the field
    replaced_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
    store = TelemetryStore(influx)
    for rul_h, row in zip(life.rul_h, life.values):
        start_ns = int((replaced_at - timedelta(hours=float(rul_h) + 0.5)).timestamp() * 1e9)
        meta = BurstMeta(burst_id=f"b-{start_ns}", machine="GS-2001", component="alternator_de",
                         sensor="alternator_de.acc", axis="radial", sample_rate_hz=25600.0, start_ns=start_ns,
                         n_samples=25600, units="m/s2", shaft_rpm=1500.0)
        store.write_features(meta, dict(zip(life.channels, map(float, row))))
    labels = tmp_path / "labels.csv"
    base = dict(machine="GS-2001", component="alternator_de", predicted_fault_mode="bearing_outer_race",
                found_fault_mode="bearing_outer_race", problem_code="outer_race_spalled")
    write_labels([
        Outcome(order_id=1, fault_confirmed="yes", component_replaced=True, replaced_at=replaced_at, **base),
        # not failures: relubricated only, and a false alarm
        Outcome(order_id=2, fault_confirmed="yes", component_replaced=False, replaced_at=replaced_at, **base),
        Outcome(order_id=3, fault_confirmed="no", component_replaced=False, replaced_at=replaced_at, **base),
    ], labels)

    failures = rul_training.read_failures(labels)
    assert failures == [("GS-2001", "alternator_de", replaced_at)]
    lives = rul_training.field_lives(failures, store, session_factory)
    assert list(lives) == [KIND] and len(lives[KIND]) == 1
    field = field_histories(lives[KIND])
    assert field.channels == list(HISTORY_CHANNELS) and np.unique(field.units).size == 1
    # The labels are the time to the replacement: the last bin's is its last burst's.
    assert field.rul_h[-1] == pytest.approx(float(life.rul_h.min()) + 0.5, abs=0.01)
    assert np.all(np.diff(field.rul_h) <= 0) and field.rul_h.max() == 240.0  # capped like the simulated ones

    result = train_kind(profile, n_units=4, seed=0, workers=1, field=field)
    assert result.metrics["field_units"] == 1 and result.metrics["field_rows"] == field.units.size
    assert "+field:" in result.recipe
    estimate = result.estimator.predict_last(list(field.units), field.age_h, field.values)[1]
    assert np.isfinite(estimate.p50).all()


def test_a_file_that_is_not_labels_is_refused(tmp_path, capsys):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit) as exited:
        rul_training.main(["--no-register", "--labels", str(wrong)])
    assert exited.value.code == 2
    assert "is not a labels file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        rul_training.main(["--no-register", "--labels", str(tmp_path / "missing.csv")])
    assert "no such file" in capsys.readouterr().err
