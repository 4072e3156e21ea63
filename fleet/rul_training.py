"""Train, register and promote the default RUL model of every component kind of the demo fleet.

    python -m fleet.rul_training [--units 20] [--seed 0] [--if-missing] [--force]
                                 [--no-register] [--kinds KIND,...] [--workers 2]

The training is pure and lives in ``diagnostics.prognostics.default_models`` (simulate units from
new to failure, hold out a quarter, train, evaluate). This command is the fleet side: it reads the
component catalogue (``fleet.demo_fleet.COMPONENTS_BY_KIND``), and stores each model in the SQL
registry (``fleet.model_registry``) and promotes it to active. A kind whose active model was
trained with the same recipe (simulation settings, seed, feature windows, code version) is skipped
unless ``--force``; with ``--if-missing`` (what ``make models`` runs) any kind that already has an
active model is skipped. ``make run`` and ``make test`` call this, and retraining identical models
would only pile up versions.
"""
from __future__ import annotations

import argparse
import sys

from diagnostics.prognostics.default_models import format_table, profiles_from_catalogue, recipe_key, train_kind
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
    args = parser.parse_args(argv)
    if args.units < 4:
        parser.error("--units must be at least 4 (a quarter is held out)")
    return parser, args


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    profiles = profiles_from_catalogue(COMPONENTS_BY_KIND)
    wanted = {k.strip() for k in args.kinds.split(",") if k.strip()}
    unknown = wanted - {p.kind for p in profiles}
    if unknown:
        parser.error(f"unknown component kind(s) {sorted(unknown)}; known: {[p.kind for p in profiles]}")
    profiles = [p for p in profiles if not wanted or p.kind in wanted]

    registry = None
    if not args.no_register:
        url = db.database_url()
        db.upgrade(url)
        registry = ModelRegistry(db.session_factory(db.make_engine(url)))

    results = []
    for profile in profiles:
        recipe = recipe_key(profile, args.units, args.seed)
        active = registry.active(profile.kind) if registry else None
        if active and args.if_missing and not args.force:
            log(f"[{profile.kind}] active model {active.version} present: skipped (--if-missing)")
            continue
        if active and active.metrics.get("recipe") == recipe and not args.force:
            log(f"[{profile.kind}] active model {active.version} already has recipe {recipe}: skipped (--force retrains)")
            continue
        result = train_kind(profile, args.units, args.seed, workers=args.workers, progress=log)
        results.append(result)
        if registry:
            record = registry.register(profile.kind, result.estimator, {**result.metrics, "recipe": recipe})
            registry.promote(profile.kind, record.version)
            log(f"[{profile.kind}] registered and promoted {record.version}")
    if results:
        print(format_table(results))
    else:
        print("all default RUL models are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
