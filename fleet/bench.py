"""Fleet-side speed figures: device authentication and the burst → diagnosis → work-order thread.

``python -m fleet.bench [--bursts 8] [--auth-calls 2000] [--out var/bench/fleet_bench.png]``

Each figure is printed next to a baseline measured in the same run on the same machine:

* device authentication through the TTL cache (what ingest uses) against the same directory with
  the cache disabled (a SQL look-up per upload);
* ``DiagnosisService.process_burst`` end to end (read back from InfluxDB, analyse, write features
  and findings, SQL transaction, events) against ``analyze_burst`` alone on the same samples:
  the ratio is what the I/O and bookkeeping cost on top of the signal processing;
* a re-run of an already diagnosed burst (the idempotency check), against the same baseline.

It uses the private influxd (``telemetry.influxd.ensure_running``) with a throwaway database and
a throwaway SQLite file, and writes a bar chart (PNG) of the medians.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

MS = 1e3


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_authentication(session_factory, token: str, calls: int) -> dict[str, float]:
    """Median seconds per ``authenticate`` call, cached and uncached."""
    from .devices import SqlDeviceDirectory

    cached = SqlDeviceDirectory(session_factory, ttl_s=5.0)
    uncached = SqlDeviceDirectory(session_factory, ttl_s=0.0)
    assert cached.authenticate(token) is not None and uncached.authenticate(token) is not None
    results = {}
    for name, directory in (("auth_uncached", uncached), ("auth_cached", cached)):
        samples = [_timed(directory.authenticate, token) for _ in range(calls)]
        results[name] = statistics.median(samples)
        _progress(f"  {name}: {calls} calls done")
    return results


def bench_diagnosis(influx, session_factory, bursts: int) -> dict[str, float]:
    """Median seconds: analyze_burst alone, process_burst end to end, process_burst re-run."""
    from diagnostics.pipeline import analyze_burst
    from diagnostics.synthesis import synthesize_burst
    from telemetry import schema
    from telemetry.store import BurstMeta, TelemetryStore, burst_meta_line

    from . import demo_fleet
    from .diagnosis_service import DiagnosisService
    from .notify import NullNotifier

    kinematics = next(c.kinematics for c in demo_fleet.GENSET_COMPONENTS if c.name == "alternator_de")
    store = TelemetryStore(influx)
    service = DiagnosisService(store, session_factory, NullNotifier())
    t0 = (int(time.time()) // 3600 * 3600 - 6 * 3600) * 1_000_000_000
    analysis, full, rerun = [], [], []
    for i in range(bursts):
        samples = synthesize_burst(kinematics, 1500.0, fault="bearing_outer_race", severity=0.7, seed=i,
                                   fault_location="DE")
        start_ns = t0 + i * 600 * 1_000_000_000
        meta = BurstMeta(burst_id=schema.burst_id_for("GS-2001", "alternator_de.acc", "radial", start_ns),
                         machine="GS-2001", component="alternator_de", sensor="alternator_de.acc", axis="radial",
                         sample_rate_hz=25600.0, start_ns=start_ns, n_samples=samples.size, units="m/s2",
                         shaft_rpm=1500.0)
        influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, start_ns, 25600.0)), rp=schema.RP_RAW)
        influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
        analysis.append(_timed(analyze_burst, samples.astype(float), 25600.0, 1500.0, kinematics, "alternator_de"))
        full.append(_timed(service.process_burst, meta.burst_id))
        rerun.append(_timed(service.process_burst, meta.burst_id))
        _progress(f"  burst {i + 1}/{bursts} diagnosed")
    return {"analyze_only": statistics.median(analysis), "process_burst": statistics.median(full),
            "process_burst_rerun": statistics.median(rerun)}


def plot(results: dict[str, float], out: Path) -> None:
    """Bar chart of the medians (ms, log scale: the figures span four decades)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["auth uncached", "auth cached", "analyze_burst only", "process_burst", "process_burst re-run"]
    keys = ["auth_uncached", "auth_cached", "analyze_only", "process_burst", "process_burst_rerun"]
    values = [results[k] * MS for k in keys]
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.barh(labels, values, color=["#999", "#2a7", "#999", "#27a", "#2a7"])
    ax.set_xscale("log")
    ax.set_xlabel("median time per call (ms, log scale)")
    ax.set_title("Ironwatch fleet: authentication and burst diagnosis")
    for bar, value in zip(bars, values):
        ax.text(value, bar.get_y() + bar.get_height() / 2, f" {value:.3g} ms", va="center", fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from telemetry import influxd
    from telemetry.influx import InfluxClient

    from . import db, seed
    from .devices import SqlDeviceDirectory

    parser = argparse.ArgumentParser(prog="python -m fleet.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=8, help="bursts to diagnose (default 8)")
    parser.add_argument("--auth-calls", type=int, default=2000, help="authenticate calls per variant (default 2000)")
    parser.add_argument("--out", type=Path, default=db.var_dir() / "bench" / "fleet_bench.png")
    args = parser.parse_args(argv)

    _progress("starting InfluxDB and a throwaway SQL database ...")
    influx = InfluxClient(influxd.ensure_running(), f"ironwatch_bench_{uuid.uuid4().hex[:8]}")
    influxd.prepare_database(influx)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            factory = db.session_factory(engine)
            seed.seed(factory, Path(tmp), password="bench")
            token = SqlDeviceDirectory(factory).issue_credential("GS-2001")
            _progress("device authentication ...")
            results = bench_authentication(factory, token, args.auth_calls)
            _progress("burst diagnosis ...")
            results.update(bench_diagnosis(influx, factory, args.bursts))
        finally:
            engine.dispose()
            influx.drop_database()

    print(f"{'figure':<28}{'median':>12}   baseline (same run)")
    print(f"{'authenticate, uncached':<28}{results['auth_uncached'] * MS:>9.3f} ms   (the baseline)")
    print(f"{'authenticate, TTL cache':<28}{results['auth_cached'] * MS:>9.3f} ms   "
          f"{results['auth_uncached'] / results['auth_cached']:.0f}x faster than uncached")
    print(f"{'analyze_burst alone':<28}{results['analyze_only'] * MS:>9.1f} ms   (the baseline)")
    print(f"{'process_burst end to end':<28}{results['process_burst'] * MS:>9.1f} ms   "
          f"{results['process_burst'] / results['analyze_only']:.1f}x analyze_burst alone")
    print(f"{'process_burst re-run':<28}{results['process_burst_rerun'] * MS:>9.2f} ms   "
          f"{results['process_burst_rerun'] / results['analyze_only']:.3f}x analyze_burst alone")
    per_hour = 3600.0 / results["process_burst"]
    print(f"one worker thread diagnoses about {per_hour:,.0f} bursts per hour "
          f"(the reference fleet sends 4 per excavator and 3 per genset per hour)")
    plot(results, args.out)
    print(f"chart: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
