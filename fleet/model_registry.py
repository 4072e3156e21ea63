"""Registry of trained RUL models: files under ``<IRONWATCH_VAR>/models/``, index in SQL (``RulModel``).

Each model is stored once, byte for byte, as the estimator's JSON document; its SQL row records
the version, the data it saw (hash and rows), its feature list, its metrics, when and how long it
trained, and whether it is the active model of its component kind. Loading checks the file's
SHA-256 against the one recorded at registration, so a model is either read back exactly as
trained or refused.

Versions are ``<component_kind>-v<n>`` with n counting up per kind; that string is what scoring
writes to InfluxDB next to every estimate.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from diagnostics.prognostics.estimator import RulEstimator
from fleet.models import RulModel
from telemetry.files import replace_atomically

_KIND = re.compile(r"^[a-z0-9_]{1,40}$")


class RegistryError(LookupError):
    """No such model, no active model, or a stored file that does not match its record."""


@dataclass(frozen=True)
class ModelRecord:
    """What the SQL index says about one registered model."""

    component_kind: str
    version: str
    path: str
    data_hash: str
    data_rows: int
    features: list
    metrics: dict
    trained_at: datetime
    training_seconds: float
    active: bool

    @classmethod
    def from_row(cls, row: RulModel) -> "ModelRecord":
        return cls(row.component_kind, row.version, row.path, row.data_hash, row.data_rows,
                   list(row.features or []), dict(row.metrics or {}), row.trained_at,
                   float(row.training_seconds or 0.0), bool(row.active))


def _version_number(version: str) -> int:
    match = re.search(r"-v(\d+)$", version)
    return int(match.group(1)) if match else 0


class ModelRegistry:
    """Store, index, promote, roll back and load RUL models.

    Parameters
    ----------
    session_factory : SQLAlchemy sessionmaker of the fleet database (migrated).
    var_dir : the instance folder; model files go under ``<var_dir>/models/``. Default
        ``fleet.db.var_dir()`` (``IRONWATCH_VAR``).
    """

    def __init__(self, session_factory: sessionmaker[Session], var_dir: Path | None = None):
        from fleet.db import var_dir as default_var_dir

        self.session_factory = session_factory
        self.var_dir = Path(var_dir) if var_dir is not None else default_var_dir()

    # ----- writing ---------------------------------------------------------------------------
    def register(self, component_kind: str, estimator: RulEstimator, metrics: dict | None = None,
                 trained_at: datetime | None = None) -> ModelRecord:
        """Store the estimator's bytes and index them as the next version of ``component_kind``.

        ``metrics`` (e.g. held-out RMSE and coverage) are merged over the estimator's own
        calibration facts. The new model is not active until ``promote``.
        """
        if not _KIND.match(component_kind):
            raise ValueError(f"component kind {component_kind!r}: use 1-40 of a-z, 0-9, _")
        blob = estimator.to_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        meta = estimator.metadata
        all_metrics = {"calibration": meta.get("calibration", {}), **(metrics or {}), "file_sha256": digest}
        for attempt in range(3):
            with self.session_factory() as session:
                rows = session.scalars(select(RulModel.version).where(RulModel.component_kind == component_kind)).all()
                version = f"{component_kind}-v{max((_version_number(v) for v in rows), default=0) + 1}"
                # The digest in the name keeps two writers racing for one version number from
                # overwriting each other's file before the loser's commit fails.
                relative = Path("models") / component_kind / f"{version}-{digest[:12]}.json"
                replace_atomically(self.var_dir / relative, blob)
                row = RulModel(
                    component_kind=component_kind, version=version, path=relative.as_posix(),
                    data_hash=str(meta.get("data_hash", "")), data_rows=int(meta.get("data_rows", 0)),
                    features=list(estimator.feature_names), metrics=all_metrics,
                    trained_at=trained_at or datetime.now(timezone.utc),
                    training_seconds=float(meta.get("training_seconds", 0.0)), active=False,
                )
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    # Another process took this version number between our read and write.
                    session.rollback()
                    continue
                return ModelRecord.from_row(row)
        raise RegistryError(f"could not allocate a version for {component_kind} after 3 attempts")

    def promote(self, component_kind: str, version: str) -> ModelRecord:
        """Make ``version`` the one active model of its kind (the others become inactive)."""
        with self.session_factory() as session:
            row = session.scalars(select(RulModel).where(
                RulModel.component_kind == component_kind, RulModel.version == version)).first()
            if row is None:
                raise RegistryError(f"no model {version} of kind {component_kind}")
            self._read_verified(row)  # never activate a model whose file is missing or altered
            session.execute(update(RulModel).where(RulModel.component_kind == component_kind).values(active=False))
            row.active = True
            session.commit()
            return ModelRecord.from_row(row)

    def rollback(self, component_kind: str) -> ModelRecord:
        """Activate the version just below the active one (the model that preceded it)."""
        records = self.list(component_kind)
        current = next((r for r in records if r.active), None)
        if current is None:
            raise RegistryError(f"no active model of kind {component_kind} to roll back from")
        older = [r for r in records if _version_number(r.version) < _version_number(current.version)]
        if not older:
            raise RegistryError(f"{current.version} is the oldest model of kind {component_kind}")
        return self.promote(component_kind, older[-1].version)

    # ----- reading ---------------------------------------------------------------------------
    def list(self, component_kind: str | None = None) -> list[ModelRecord]:
        """Records, oldest version first; all kinds when ``component_kind`` is None."""
        with self.session_factory() as session:
            query = select(RulModel)
            if component_kind is not None:
                query = query.where(RulModel.component_kind == component_kind)
            rows = session.scalars(query).all()
            records = [ModelRecord.from_row(r) for r in rows]
        return sorted(records, key=lambda r: (r.component_kind, _version_number(r.version)))

    def active(self, component_kind: str) -> ModelRecord | None:
        return next((r for r in self.list(component_kind) if r.active), None)

    def read_bytes(self, component_kind: str, version: str | None = None) -> bytes:
        """The stored bytes of ``version`` (default: the active model), checked against their hash."""
        return self._fetch(component_kind, version)[1]

    def load(self, component_kind: str, version: str | None = None) -> tuple[ModelRecord, RulEstimator]:
        """(record, estimator) of ``version`` or of the active model of the kind."""
        record, blob = self._fetch(component_kind, version)
        return record, RulEstimator.from_bytes(blob)

    def _fetch(self, component_kind: str, version: str | None) -> tuple[ModelRecord, bytes]:
        # One read of the row for both the record and the file, so a promotion in between cannot
        # pair one version's record with another's bytes.
        with self.session_factory() as session:
            query = select(RulModel).where(RulModel.component_kind == component_kind)
            query = query.where(RulModel.version == version) if version else query.where(RulModel.active.is_(True))
            row = session.scalars(query).first()
            if row is None:
                what = version or "active model"
                raise RegistryError(f"no {what} for component kind {component_kind}")
            return ModelRecord.from_row(row), self._read_verified(row)

    def _read_verified(self, row: RulModel) -> bytes:
        path = self.var_dir / row.path
        if not path.is_file():
            raise RegistryError(f"model file {path} of {row.version} is missing")
        blob = path.read_bytes()
        expected = (row.metrics or {}).get("file_sha256")
        if expected and hashlib.sha256(blob).hexdigest() != expected:
            raise RegistryError(f"model file {path} does not match the SHA-256 recorded for {row.version}")
        return blob
