"""Model registry against a real SQL database: bit-for-bit storage, promotion and rollback."""
import hashlib

import numpy as np
import pytest
from sqlalchemy import select

from diagnostics.prognostics import RulEstimator, TrainConfig, WindowSpec, fit_estimator
from fleet.model_registry import ModelRegistry, RegistryError
from fleet.models import RulModel

pytestmark = pytest.mark.integration


def tiny_estimator(seed: int) -> RulEstimator:
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(8), 30)
    age = np.tile(np.arange(30.0), 8)
    wear = (age / 30.0) ** 2 + 0.05 * rng.standard_normal(age.size)
    return fit_estimator(units, age, wear[:, None], 30.0 - age, ["wear"],
                         spec=WindowSpec(mean_windows=(3,), std_windows=(3,), slope_windows=(3,), ewm_alphas=(0.5,),
                                         baseline_rows=2),
                         config=TrainConfig(num_boost_round=15, num_leaves=4, min_data_in_leaf=5, num_threads=1,
                                            seed=seed, calibration_share=0.25))


def test_a_model_round_trips_bit_for_bit_with_its_metadata(session_factory, tmp_path):
    registry = ModelRegistry(session_factory, var_dir=tmp_path)
    estimator = tiny_estimator(0)
    record = registry.register("alternator_bearing", estimator, {"held_out": {"rmse_h": 12.5}})
    assert record.version == "alternator_bearing-v1" and not record.active
    assert registry.read_bytes("alternator_bearing", record.version) == estimator.to_bytes()
    assert (tmp_path / record.path).read_bytes() == estimator.to_bytes()
    with session_factory() as session:
        row = session.scalars(select(RulModel)).one()
        assert row.data_hash == estimator.metadata["data_hash"] and row.data_rows == 240
        assert row.features == estimator.feature_names
        assert row.metrics["held_out"] == {"rmse_h": 12.5}
        assert row.metrics["file_sha256"] == hashlib.sha256(estimator.to_bytes()).hexdigest()
        assert row.training_seconds > 0 and row.trained_at is not None
    registry.promote("alternator_bearing", record.version)
    loaded_record, loaded = registry.load("alternator_bearing")
    assert loaded_record.active and loaded.to_bytes() == estimator.to_bytes()


def test_promote_and_roll_back_keep_one_active_model_per_kind(session_factory, tmp_path):
    registry = ModelRegistry(session_factory, var_dir=tmp_path)
    v1 = registry.register("alternator_bearing", tiny_estimator(1)).version
    v2 = registry.register("alternator_bearing", tiny_estimator(2)).version
    other = registry.register("diesel_engine", tiny_estimator(3)).version
    with pytest.raises(RegistryError, match="no active model"):
        registry.rollback("alternator_bearing")
    registry.promote("diesel_engine", other)
    registry.promote("alternator_bearing", v1)
    registry.promote("alternator_bearing", v2)
    assert [r.version for r in registry.list("alternator_bearing") if r.active] == [v2]
    assert registry.rollback("alternator_bearing").version == v1
    assert registry.active("alternator_bearing").version == v1
    assert registry.active("diesel_engine").version == other  # other kinds untouched
    with pytest.raises(RegistryError, match="oldest"):
        registry.rollback("alternator_bearing")
    with pytest.raises(RegistryError, match="no model"):
        registry.promote("alternator_bearing", "alternator_bearing-v9")


def test_an_altered_model_file_is_refused(session_factory, tmp_path):
    registry = ModelRegistry(session_factory, var_dir=tmp_path)
    record = registry.register("alternator_bearing", tiny_estimator(0))
    path = tmp_path / record.path
    path.write_bytes(path.read_bytes().replace(b'"min_history": 10', b'"min_history": 11'))
    with pytest.raises(RegistryError, match="SHA-256"):
        registry.read_bytes("alternator_bearing", record.version)
    with pytest.raises(RegistryError, match="SHA-256"):
        registry.promote("alternator_bearing", record.version)
    with pytest.raises(ValueError, match="component kind"):
        registry.register("Bad Kind!", tiny_estimator(0))
