"""``python -m app.bench``: how long the console's pages take, against a bare page in the same run.

Builds a throw-away instance (demo fleet seeded into a temporary SQLite file, a temporary database
on the running InfluxDB, one diagnosed outer-race burst), then times each page with Flask's test
client (no network), N times each, and prints the median per page and its ratio to the sign-in
page (template only, no store access). Writes a bar chart PNG of the same numbers.
"""
from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from fleet.seed import DEFAULT_PASSWORD, seed_url


def _seed(sql_url: str, var: Path) -> dict:
    return seed_url(sql_url, var)


def _upload_outer_race_burst(client, provisioning: dict) -> None:
    from diagnostics.synthesis import synthesize_burst

    machine = next(m for m in provisioning["machines"] if any(f["fault"] == "bearing_outer_race" for f in m["faults"]))
    fault = next(f for f in machine["faults"] if f["fault"] == "bearing_outer_race")
    sensor = next(s for s in machine["sensors"] if s["component"] == fault["component"])
    samples = synthesize_burst(sensor["kinematics"], machine["nominal_shaft_rpm"], fs=sensor["sample_rate_hz"],
                               fault=fault["fault"], fault_location=fault["location"], severity=0.9, seed=1)
    body = {"upload_id": str(uuid.uuid4()), "machine": machine["uid"], "sensor": sensor["name"],
            "axis": sensor["axis"], "sample_rate_hz": sensor["sample_rate_hz"], "start": time.time_ns() - 10**10,
            "units": "m/s2", "shaft_rpm": machine["nominal_shaft_rpm"], "encoding": "float32le",
            "samples": base64.b64encode(np.asarray(samples, dtype="<f4").tobytes()).decode()}
    response = client.post("/api/v1/ingest/bursts", json=body, headers={"Authorization": f"Bearer {machine['token']}"})
    if response.status_code != 202:
        raise SystemExit(f"burst upload refused: {response.status_code} {response.get_json()}")
    return machine["uid"]


def _median_ms(client, path: str, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1e3)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
    return statistics.median(timings)


def _plot(rows: list[tuple[str, float, float]], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 0.45 * len(rows) + 1.2), dpi=100)
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    axis.barh(labels, values, color="#14213d")
    axis.set_xscale("log")  # sub-millisecond and second-long requests on one chart
    for y, value in enumerate(values):
        axis.text(value, y, f" {value:.1f} ms", va="center", fontsize=8)
    axis.set_xlabel("median time per request (ms, log scale), Flask test client")
    axis.set_title("Ironwatch console pages (baseline: sign-in page)", fontsize=10, loc="left")
    figure.subplots_adjust(left=0.32, right=0.92)
    figure.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="requests per page (default 20)")
    parser.add_argument("--out", default=None, help="PNG path (default <IRONWATCH_VAR>/bench/app_pages.png)")
    args = parser.parse_args(argv)

    from telemetry import influxd
    from telemetry.influx import InfluxClient

    from . import create_app
    from .config import load_config

    influx_url = influxd.ensure_running()
    database = f"ironwatch_bench_{uuid.uuid4().hex[:8]}"
    influx = InfluxClient(influx_url, database)
    influxd.prepare_database(influx)
    out = Path(args.out) if args.out else Path(load_config()["IRONWATCH_VAR"]) / "bench" / "app_pages.png"
    try:
        with tempfile.TemporaryDirectory(prefix="ironwatch-bench-") as tmp:
            var = Path(tmp)
            sql_url = f"sqlite:///{var / 'bench.db'}"
            print(f"seeding the demo fleet into {sql_url} …", flush=True)
            provisioning = _seed(sql_url, var)
            app = create_app({"IRONWATCH_INFLUX_URL": influx_url, "IRONWATCH_INFLUX_DB": database,
                              "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var),
                              "START_BACKGROUND": False, "SECRET_KEY": uuid.uuid4().hex})
            runtime = app.extensions["ironwatch"]
            try:
                client = app.test_client()
                uid = _upload_outer_race_burst(client, provisioning)
                runtime.writer.start()
                runtime.writer.wait_drained(60)
                runtime.writer.stop()
                print("diagnosing one outer-race burst …", flush=True)
                runtime.diagnosis_queue.run_pending()
                client.get("/login")
                with client.session_transaction() as session:
                    token = session["_csrf"]
                client.post("/login", data={"email": "engineer@ironwatch.example", "password": DEFAULT_PASSWORD,
                                            "csrf_token": token})
                burst_id = client.get(f"/api/v1/machines/{uid}/diagnoses?limit=1").get_json()["diagnoses"][0]["burst_id"]
                evidence = f"/console/bursts/{burst_id}/evidence.png"
                started = time.perf_counter()
                client.get(evidence)  # first render: InfluxDB read + display_data + matplotlib
                first_render_ms = (time.perf_counter() - started) * 1e3
                pages = [("sign-in page (baseline)", "/login"),
                         ("fleet page, 22 machines", "/console/"),
                         ("machine page", f"/console/machines/{uid}"),
                         ("work orders page", "/console/work-orders"),
                         ("API: machines", "/api/v1/machines"),
                         ("API: diagnoses", f"/api/v1/machines/{uid}/diagnoses"),
                         ("evidence PNG (cached)", evidence)]
                print(f"timing {len(pages)} pages × {args.repeats} requests …", flush=True)
                anonymous = app.test_client()
                baseline = None
                rows = []
                for label, path in pages:
                    median = _median_ms(anonymous if path == "/login" else client, path, args.repeats)
                    baseline = baseline or median
                    rows.append((label, median, median / baseline))
                rows.append(("evidence PNG (first render, 1×)", first_render_ms, first_render_ms / baseline))
            finally:
                runtime.stop()
    finally:
        influx.drop_database()
    print(f"\n{'page':<30} {'median ms':>10} {'× baseline':>11}")
    for label, median, ratio in rows:
        print(f"{label:<30} {median:>10.1f} {ratio:>11.1f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    _plot(rows, out)
    print(f"\nplot: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
