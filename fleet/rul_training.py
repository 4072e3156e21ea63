"""Train, register and promote the default RUL model of every component kind of the demo fleet.

    python -m fleet.rul_training [--units 20] [--seed 0] [--if-missing] [--force]
                                 [--no-register] [--kinds KIND,...] [--workers 2] [--labels FILE]

The training is pure and lives in ``diagnostics.prognostics.default_models`` (simulate units from
new to failure, hold out a quarter, train, evaluate). This command is the fleet side: it reads the
component catalogue (``fleet.demo_fleet.COMPONENTS_BY_KIND``), and stores each model in the SQL
registry (``fleet.model_registry``) and promotes it to active. A kind whose active model was
trained with the same recipe (simulation settings, seed, feature windows, code version) is skipped
unless ``--force``; with ``--if-missing`` (what ``make models`` runs) any kind that already has an
active model is skipped. ``make run`` and ``make test`` call this, and retraining identical models
would only pile up versions.

``--labels FILE`` adds what the repairs taught (the CSV ``python -m fleet.feedback --labels FILE``
writes): each component replaced for a confirmed fault is a real run to failure. Its feature history
is read from InfluxDB (from its previous replacement in the file, if any, to this one) and its true
remaining life at each burst is the time to the replacement; those lives join the simulated
training units of their component kind (``diagnostics.prognostics.default_models.field_histories``),
and the recipe key changes with them, so the kinds they touch are retrained.
"""
from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from diagnostics.degradation import HISTORY_CHANNELS
from diagnostics.prognostics.default_models import (FieldLife, field_histories, format_table, profiles_from_catalogue,
                                                    recipe_key, train_kind)
from diagnostics.prognostics.history import history_matrix, hour_meter_column
from fleet import db
from fleet.demo_fleet import COMPONENTS_BY_KIND
from fleet.model_registry import ModelRegistry


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the metrics table."""
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m fleet.rul_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=20, help="simulated units per component kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="", help="comma-separated component kinds (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="processes synthesising bursts")
    parser.add_argument("--force", action="store_true", help="retrain even if the active model has this recipe")
    parser.add_argument("--if-missing", action="store_true",
                        help="train only kinds that have no active model at all (what `make models` runs)")
    parser.add_argument("--no-register", action="store_true", help="train and print, do not store or promote")
    parser.add_argument("--labels", type=Path, default=None,
                        help="also train on the field failures in this CSV (python -m fleet.feedback --labels)")
    args = parser.parse_args(argv)
    if args.labels is not None and not args.labels.is_file():
        parser.error(f"--labels {args.labels}: no such file")
    if args.units < 4:
        parser.error("--units must be at least 4 (a quarter is held out)")
    return parser, args


def read_failures(path: Path) -> list[tuple[str, str, datetime]]:
    """``(machine, component, replaced_at)`` of the label rows that are real failures: the component
    replaced and the predicted fault confirmed. Refuses a file without the label columns."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        needed = {"machine", "component", "fault_confirmed", "component_replaced", "replaced_at"}
        if not needed <= set(reader.fieldnames or ()):
            raise ValueError(f"{path} is not a labels file: columns {sorted(needed - set(reader.fieldnames or ()))} "
                             "missing (write one with python -m fleet.feedback --labels FILE)")
        return [(row["machine"], row["component"], datetime.fromisoformat(row["replaced_at"]))
                for row in reader if row["fault_confirmed"] == "yes" and row["component_replaced"] == "True"
                and row["replaced_at"]]


def field_lives(failures: list[tuple[str, str, datetime]], store, session_factory) -> dict[str, list[FieldLife]]:
    """Each failure's feature history from InfluxDB, by component kind (unknown components skipped)."""
    from sqlalchemy import select

    from fleet.models import Component, Machine

    with session_factory() as session:
        kinds = {(uid, name): kind for uid, name, kind in session.execute(
            select(Machine.uid, Component.name, Component.kind).join(Component.machine))}
    lives: dict[str, list[FieldLife]] = {}
    previous: dict[tuple[str, str], datetime] = {}
    for machine, component, replaced_at in sorted(failures, key=lambda f: f[2]):
        kind = kinds.get((machine, component))
        if kind is None:
            log(f"labels: {machine}/{component} is not in the fleet; skipped")
            continue
        history = store.feature_history(machine, component, start=previous.get((machine, component)))
        times, values = history_matrix(history, list(HISTORY_CHANNELS))
        previous[(machine, component)] = replaced_at
        failed_ns = int(replaced_at.timestamp() * 1e9)
        meter = hour_meter_column(history, times)
        life = FieldLife(f"{machine}/{component}#{replaced_at:%Y%m%d%H%M}", times, values, failed_ns,
                         meter, hour_meter_at(store, machine, times, failed_ns) if meter is not None else None)
        if int(np.sum(times <= failed_ns)) == 0:
            log(f"labels: {machine}/{component} has no features before its replacement; skipped")
            continue
        lives.setdefault(kind, []).append(life)
    return lives


def hour_meter_at(store, machine: str, times_ns: np.ndarray, failed_ns: int) -> float | None:
    """The machine's last hour meter reading (h) before the replacement, from its operating data
    since its first burst; None when there is none (the life is then trained on the clock)."""
    if times_ns.size == 0:
        return None
    ends = store.first_and_last(machine, "hour_meter_h", int(times_ns[0]), failed_ns + 1)
    return None if ends is None else ends[1][1]


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    profiles = profiles_from_catalogue(COMPONENTS_BY_KIND)
    wanted = {k.strip() for k in args.kinds.split(",") if k.strip()}
    unknown = wanted - {p.kind for p in profiles}
    if unknown:
        parser.error(f"unknown component kind(s) {sorted(unknown)}; known: {[p.kind for p in profiles]}")
    profiles = [p for p in profiles if not wanted or p.kind in wanted]

    registry = None
    field: dict[str, object] = {}
    if not args.no_register or args.labels:
        url = db.database_url()
        db.upgrade(url)
        sessions = db.session_factory(db.make_engine(url))
        registry = None if args.no_register else ModelRegistry(sessions)
    if args.labels:
        from telemetry import influxd
        from telemetry.influx import InfluxClient
        from telemetry.store import TelemetryStore

        try:
            failures = read_failures(args.labels)
        except ValueError as exc:
            parser.error(str(exc))
        store = TelemetryStore(InfluxClient(influxd.influx_url(), influxd.influx_database()))
        lives = field_lives(failures, store, sessions)
        field = {kind: field_histories(kind_lives) for kind, kind_lives in lives.items()}
        log(f"labels: {len(failures)} field failures, {sum(len(v) for v in lives.values())} with features "
            f"({', '.join(f'{k}: {len(v)}' for k, v in sorted(lives.items())) or 'none'})")

    results = []
    for profile in profiles:
        recipe = recipe_key(profile, args.units, args.seed)
        kind_field = field.get(profile.kind)
        active = registry.active(profile.kind) if registry else None
        if active and args.if_missing and not args.force:
            log(f"[{profile.kind}] active model {active.version} present: skipped (--if-missing)")
            continue
        if active and active.metrics.get("recipe") == recipe and kind_field is None and not args.force:
            log(f"[{profile.kind}] active model {active.version} already has recipe {recipe}: skipped (--force retrains)")
            continue
        result = train_kind(profile, args.units, args.seed, workers=args.workers, progress=log, field=kind_field)
        results.append(result)
        if registry:
            record = registry.register(profile.kind, result.estimator, {**result.metrics, "recipe": result.recipe})
            registry.promote(profile.kind, record.version)
            log(f"[{profile.kind}] registered and promoted {record.version}")
    if results:
        print(format_table(results))
    else:
        print("all default RUL models are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
