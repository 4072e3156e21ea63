"""Simulator benchmark: CPU cost per simulated machine-hour and the load it puts on this machine.

``python -m telemetry.simulator.bench [--hours 1] [--out var/bench/sim_bench.png] [--url URL --provisioning P]``

Measures, in one run and with process CPU time (``time.process_time``):

* the duty-cycle models (one step per simulated second), per machine kind;
* building operating uploads (60 samples, JSON) with and without gzip;
* synthesising a burst (healthy and faulty) and encoding it as JSON+base64, gzip or not, and as
  binary;
* HTTP delivery by the gateway to a local sink process that answers 202 (the client's share only);
* what one excavator sends in a simulated week of the demo quarry's working day (07:00-17:00,
  Monday to Saturday, key-off heartbeats between): operating points and uploads per day;

then adds them up per simulated machine-hour at the reference cadence (3,600 samples in 60
uploads, one burst per sensor) and projects the CPU share of the simulator for N machines at x60
against the budget of this 2-core machine. Each comparison is printed as a ratio against its
baseline measured in the same run (gzip vs plain, binary vs JSON, x60 vs real time). With ``--url``
and ``--provisioning`` it also runs the real simulator at x60 for ``--wall-seconds`` against that
server and reports measured CPU. The figure is a PNG (matplotlib, Agg).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

from ..gateway.client import Gateway, MemoryBuffer
from ..gateway.payloads import burst_binary_upload, burst_json_upload, operating_upload
from .machine_models import make_model

_NS = 1_000_000_000
_SINK = r"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"status":"accepted","upload_id":"x","points":1}'
        self.send_response(202); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
s = HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""
_EXCAVATOR_KIN = {"shaft_ratio": 1.0, "pistons": 9,
                  "bearings": [{"name": "drive_shaft", "n_rolling": 8, "ball_diameter_mm": 17.46,
                                "pitch_diameter_mm": 72.5}]}


def _cpu(fn, repeat: int) -> float:
    """CPU seconds per call of ``fn`` (mean over ``repeat`` calls)."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def measure(hours: float) -> dict[str, float]:
    """CPU seconds of each simulator part; see the module docstring."""
    start = int(time.time() - 86400) * _NS
    out: dict[str, float] = {}
    steps = int(hours * 3600)
    for kind in ("excavator", "genset"):
        model = make_model(kind, 1, start, 53.2, -1.9)
        t0 = time.process_time()
        rows = [model.step() for _ in range(steps)]
        out[f"model_step_{kind}"] = (time.process_time() - t0) / steps
        batch = [(start + i * _NS, rows[i]) for i in range(60)]
        out[f"operating_plain_{kind}"] = _cpu(lambda: operating_upload(kind, batch, gzip_min_bytes=1 << 30), 50)
        out[f"operating_gzip_{kind}"] = _cpu(lambda: operating_upload(kind, batch), 50)
        out[f"operating_bytes_plain_{kind}"] = len(operating_upload(kind, batch, gzip_min_bytes=1 << 30).body)
        out[f"operating_bytes_gzip_{kind}"] = len(operating_upload(kind, batch).body)

    from diagnostics.synthesis import synthesize_burst

    out["synth_healthy"] = _cpu(lambda: synthesize_burst(_EXCAVATOR_KIN, 1800.0, seed=1), 10)
    out["synth_faulty"] = _cpu(lambda: synthesize_burst(_EXCAVATOR_KIN, 1800.0, fault="bearing_inner_race",
                                                        severity=0.5, seed=1), 5)
    x = synthesize_burst(_EXCAVATOR_KIN, 1800.0, seed=1)
    args = ("EX-1", "hydraulic_pump.acc", "radial", 25600.0, start, 1800.0, x)
    out["burst_json_plain"] = _cpu(lambda: burst_json_upload(*args, gzip_min_bytes=1 << 30), 20)
    out["burst_json_gzip"] = _cpu(lambda: burst_json_upload(*args), 20)
    out["burst_binary_gzip"] = _cpu(lambda: burst_binary_upload(*args), 20)
    out["burst_bytes_json_plain"] = len(burst_json_upload(*args, gzip_min_bytes=1 << 30).body)
    out["burst_bytes_json_gzip"] = len(burst_json_upload(*args).body)
    out["burst_bytes_binary_gzip"] = len(burst_binary_upload(*args).body)
    out.update(_http_cost(operating_upload("EX-1", [(start + i * _NS, rows[i]) for i in range(60)]),
                          burst_json_upload(*args)))
    return out


class _CountingGateway:
    """Counts the operating points and uploads a simulated machine hands its gateway, per UTC day."""

    def __init__(self):
        self.online = True
        self.points: dict[str, int] = {}
        self.uploads: dict[str, int] = {}

    def send_operating(self, batch):
        day = time.strftime("%a", time.gmtime(batch[0][0] / _NS))
        self.uploads[day] = self.uploads.get(day, 0) + 1
        for t_ns, _ in batch:
            day = time.strftime("%a", time.gmtime(t_ns / _NS))
            self.points[day] = self.points.get(day, 0) + 1

    def send_faults(self, *args):
        pass

    def send_burst(self, *args, **kwargs):
        pass


def sent_per_excavator_day() -> tuple[dict[str, int], dict[str, int]]:
    """Operating points and uploads per day of one excavator over a simulated week (Monday 30 Nov
    2026, UTC = London time in winter) on the demo quarry's shift, at full rate and without
    coverage gaps: ``({weekday: points}, {weekday: uploads})``."""
    from .fleet import SimulatedMachine, _plan_machine

    # fleet.demo_fleet.SITE_SHIFTS["blackstone"] (the simulator may not import the fleet layer)
    quarry = {"start": "07:00", "end": "17:00", "breaks": [["10:00", 15], ["12:30", 30], ["15:00", 15]],
              "weekdays": [0, 1, 2, 3, 4, 5]}

    plan = _plan_machine({"uid": "EX-BENCH", "kind": "excavator", "token": "-", "nominal_shaft_rpm": 1800.0,
                          "rated_power_kw": 202.0, "hours": 5000.0, "lat": 53.24, "lon": -1.91, "sensors": [],
                          "faults": [], "timezone": "Europe/London", "shift": quarry})
    start = 1_795_996_800 * _NS   # Monday 2026-11-30 00:00 UTC
    gateway = _CountingGateway()
    machine = SimulatedMachine(plan, gateway, 1, start, [], lambda *a, **k: None, gap_mean_h=0.0)
    machine.advance_to(start + 7 * 86400 * _NS)
    machine.flush_batch()
    return gateway.points, gateway.uploads


def _http_cost(operating, burst) -> dict[str, float]:
    """Client CPU (s) per HTTP upload to a sink in another process (so its CPU is not ours)."""
    sink = subprocess.Popen([sys.executable, "-c", _SINK], stdout=subprocess.PIPE, text=True)
    try:
        port = int(sink.stdout.readline())
        gw = Gateway(f"http://127.0.0.1:{port}", "bench.token", "EX-1", session=requests.Session(),
                     buffer=MemoryBuffer())
        gw.submit(operating)   # warm the connection
        return {"http_operating": _cpu(lambda: gw.submit(operating), 200),
                "http_burst": _cpu(lambda: gw.submit(burst), 50)}
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def per_machine_hour(m: dict[str, float], kind: str, sensors: int) -> dict[str, float]:
    """CPU seconds per simulated machine-hour at the reference cadence, by part."""
    return {"model": 3600 * m[f"model_step_{kind}"],
            "operating uploads": 60 * m[f"operating_gzip_{kind}"],
            "burst synthesis": sensors * m["synth_healthy"],
            "burst encoding": sensors * m["burst_json_gzip"],
            "HTTP": 60 * m["http_operating"] + sensors * m["http_burst"]}


def _plot(parts: dict[str, dict[str, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    kinds = list(parts)
    bottom = np.zeros(len(kinds))
    for name in parts[kinds[0]]:
        values = np.array([parts[k][name] * 1e3 for k in kinds])
        ax1.bar(kinds, values, bottom=bottom, label=name)
        bottom += values
    ax1.set_ylabel("CPU ms per simulated machine-hour")
    ax1.set_title("Where the simulator's CPU goes")
    ax1.legend(fontsize=8)
    n = np.arange(1, 201)
    mix = (12 * sum(parts["excavator"].values()) + 10 * sum(parts["genset"].values())) / 22
    for speedup in (1, 60, 360):
        ax2.plot(n, 100 * n * mix * speedup / 3600, label=f"x{speedup}")
    ax2.axhline(200, color="k", ls="--", lw=1, label="2 cores")
    ax2.axvline(22, color="grey", ls=":", lw=1, label="demo fleet (22)")
    ax2.set_xlabel("machines (demo mix: 12 excavators : 10 gensets)")
    ax2.set_ylabel("projected simulator CPU (% of one core)")
    ax2.set_ylim(0, 250)
    ax2.set_title("Projected load (client side only)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def _end_to_end(url: str, provisioning: str, wall_seconds: float) -> None:
    """Run the real simulator at x60 against ``url`` and print the CPU it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "telemetry.simulator", "--url", url, "--provisioning", provisioning,
           "--speedup", "60", "--memory-buffer", "--progress-every", str(max(5.0, wall_seconds / 3))]
    proc = subprocess.Popen(cmd)
    t0 = time.monotonic()
    try:
        proc.wait(timeout=wall_seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)
        proc.wait(timeout=60)
    wall = time.monotonic() - t0
    # The micro-benchmarks' sink process was a child too: count only what came after it.
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (cpu.ru_utime + cpu.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"end to end: {used:.1f} s CPU in {wall:.1f} s wall = {100 * used / wall:.1f} % of one core "
          f"(x60 vs real time: the budget is 200 %)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m telemetry.simulator.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", type=float, default=1.0, help="simulated hours per model measurement")
    p.add_argument("--out", default=str(Path(os.environ.get("IRONWATCH_VAR", "var")) / "bench" / "sim_bench.png"))
    p.add_argument("--url", help="also run the simulator end to end against this ingest server")
    p.add_argument("--provisioning", help="provisioning file for --url")
    p.add_argument("--wall-seconds", type=float, default=60.0)
    args = p.parse_args(argv)

    print("measuring (a few seconds) ...", flush=True)
    m = measure(args.hours)
    print(f"model step          excavator {m['model_step_excavator'] * 1e6:6.1f} us   "
          f"genset {m['model_step_genset'] * 1e6:6.1f} us   per simulated second")
    for kind in ("excavator", "genset"):
        ratio = m[f"operating_bytes_plain_{kind}"] / m[f"operating_bytes_gzip_{kind}"]
        print(f"operating upload    {kind:9s} plain {m[f'operating_plain_{kind}'] * 1e3:5.2f} ms "
              f"{m[f'operating_bytes_plain_{kind}'] / 1e3:5.1f} kB | gzip {m[f'operating_gzip_{kind}'] * 1e3:5.2f} ms "
              f"{m[f'operating_bytes_gzip_{kind}'] / 1e3:5.1f} kB  -> {ratio:.1f}x fewer bytes, "
              f"{m[f'operating_gzip_{kind}'] / m[f'operating_plain_{kind}']:.1f}x the CPU")
    print(f"burst synthesis     healthy {m['synth_healthy'] * 1e3:6.1f} ms   faulty (bearing) "
          f"{m['synth_faulty'] * 1e3:6.1f} ms  ({m['synth_faulty'] / m['synth_healthy']:.1f}x)")
    print(f"burst encoding      json {m['burst_json_plain'] * 1e3:5.2f} ms {m['burst_bytes_json_plain'] / 1e3:6.1f} kB"
          f" | json+gzip {m['burst_json_gzip'] * 1e3:5.2f} ms {m['burst_bytes_json_gzip'] / 1e3:6.1f} kB"
          f" | binary+gzip {m['burst_binary_gzip'] * 1e3:5.2f} ms {m['burst_bytes_binary_gzip'] / 1e3:6.1f} kB"
          f"  -> binary is {m['burst_bytes_json_gzip'] / m['burst_bytes_binary_gzip']:.2f}x smaller than json+gzip")
    print(f"HTTP (client CPU)   operating {m['http_operating'] * 1e3:5.2f} ms   burst {m['http_burst'] * 1e3:5.2f} ms")
    parts = {"excavator": per_machine_hour(m, "excavator", 4), "genset": per_machine_hour(m, "genset", 3)}
    for kind, p_ in parts.items():
        total = sum(p_.values())
        print(f"per machine-hour    {kind:9s} {total * 1e3:6.0f} ms CPU  "
              + "  ".join(f"{k} {v / total:4.0%}" for k, v in p_.items()))
    mix = (12 * sum(parts["excavator"].values()) + 10 * sum(parts["genset"].values())) / 22
    for n, speedup in ((22, 1), (22, 60), (66, 60), (22, 360)):
        share = n * mix * speedup / 3600
        print(f"projected           {n:3d} machines x{speedup:<4d} {100 * share:6.1f} % of one core "
              f"({share / 2:.1%} of this 2-core machine; {speedup}x the real-time cost)")
    points, uploads = sent_per_excavator_day()
    print("excavator-day sent  " + "  ".join(f"{day} {points.get(day, 0):,} pts/{uploads.get(day, 0)} uploads"
                                            for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
          + "  (1 Hz all day, before key-off: 86,400 pts/1,440 uploads)")
    _plot(parts, Path(args.out))
    print(f"figure: {args.out}")
    if args.url:
        if not args.provisioning:
            p.error("--url needs --provisioning")
        _end_to_end(args.url, args.provisioning, args.wall_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
