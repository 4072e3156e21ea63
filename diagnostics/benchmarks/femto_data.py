"""Reading FEMTO / PRONOSTIA bearing histories, with a per-snapshot feature cache under var/.

Two layouts, the same result:

* the learning set as published, ``Learning_set.tar.xz`` (read streaming: members come in no order);
* a folder laid out like it, ``DIR/BearingX_Y/acc_NNNNN.csv`` (``--predict``; the test bearings).

Each ``acc_*.csv`` is one snapshot of 2560 rows at 25.6 kHz: ``hour, minute, second, microsecond,
horizontal g, vertical g`` (comma- or semicolon-separated). Snapshots are 10 s apart; a history's
time axis is ``10 s x (index - 1)`` from the first snapshot, and a learning bearing's life ends at its
last snapshot (the challenge's definition: vibration past 20 g).

Parsing 600 MB of CSV costs about a minute on one core; the features of every snapshot
(``diagnostics.prognostics.bearing_features``) and a few raw snapshots per bearing (for the
short-burst diagnosis check) are cached in one ``.npz`` per source, keyed by its path, size and
modification time, so re-runs start in a second. The data itself is never copied.
"""
from __future__ import annotations

import hashlib
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from diagnostics.prognostics.bearing_features import snapshot_features

FS_HZ = 25600.0
SNAPSHOT_PERIOD_S = 10.0
SNAPSHOT_SAMPLES = 2560
LEARNING_ARCHIVE = "Learning_set.tar.xz"
CONDITIONS = {1: (1800.0, 4000.0), 2: (1650.0, 4200.0), 3: (1500.0, 5000.0)}  # rpm, radial load N
# Raw snapshots kept per bearing for the pipeline's short-burst check: the first and the last few.
RAW_KEEP = 10
_CACHE_VERSION = "1"
_NAME = re.compile(r"Bearing(\d)_(\d+)$")
_ACC = re.compile(r"acc_(\d+)\.csv$")

Progress = Callable[[str], None]


@dataclass
class BearingHistory:
    """One bearing's snapshot features in time order.

    Attributes
    ----------
    name : str
        ``BearingX_Y``.
    condition : int
        Operating condition 1..3 (first digit of the name).
    times_s : np.ndarray, shape (n,)
        Seconds since the first snapshot.
    features : dict[str, np.ndarray]
        Per-snapshot features, each shape (n,).
    raw_head, raw_tail : np.ndarray, shape (k, 2560, 2)
        The first and last ``RAW_KEEP`` snapshots (g).
    """

    name: str
    condition: int
    times_s: np.ndarray
    features: dict[str, np.ndarray]
    raw_head: np.ndarray
    raw_tail: np.ndarray

    @property
    def life_s(self) -> float:
        """Time of the last snapshot (s): the life, for a learning bearing run to failure."""
        return float(self.times_s[-1])

    @property
    def shaft_rpm(self) -> float:
        return CONDITIONS.get(self.condition, CONDITIONS[1])[0]

    def truncated(self, t_s: float) -> "BearingHistory":
        """The history as it was at time ``t_s`` (snapshots at or before it)."""
        keep = self.times_s <= t_s + 1e-9
        return BearingHistory(self.name, self.condition, self.times_s[keep],
                              {k: v[keep] for k, v in self.features.items()}, self.raw_head, self.raw_tail[:0])


def parse_snapshot(data: bytes) -> np.ndarray:
    """One ``acc_*.csv`` as an array of shape (rows, 2): horizontal and vertical acceleration (g)."""
    text = data.replace(b";", b",").replace(b"\r", b"").replace(b"\n", b",")
    values = np.array(text.rstrip(b",").split(b","), dtype=np.float64)
    if values.size % 6:
        raise ValueError(f"snapshot: {values.size} values are not whole rows of 6 columns")
    return values.reshape(-1, 6)[:, 4:6]


def bearing_condition(name: str) -> int:
    match = _NAME.match(name)
    if not match:
        raise ValueError(f"{name}: not a bearing folder name (BearingX_Y)")
    return int(match.group(1))


def _cache_path(cache_dir: Path, source: Path, stamp: str) -> Path:
    key = hashlib.sha256(f"{_CACHE_VERSION}|{source.resolve()}|{stamp}".encode()).hexdigest()[:16]
    return cache_dir / f"femto-{source.name}-{key}.npz"


def _history(name: str, snapshots: dict[int, np.ndarray], progress: Progress) -> BearingHistory:
    order = sorted(snapshots)
    stack = np.stack([snapshots[i] for i in order]).astype(np.float32)
    progress(f"  {name}: {len(order)} snapshots, features")
    feats = {}
    for start in range(0, len(order), 256):  # bounded memory: the complex spectra of 256 snapshots
        part = snapshot_features(stack[start:start + 256], FS_HZ)
        for k, v in part.items():
            feats.setdefault(k, []).append(v)
    features = {k: np.concatenate(v) for k, v in feats.items()}
    times = (np.asarray(order, dtype=float) - order[0]) * SNAPSHOT_PERIOD_S
    return BearingHistory(name, bearing_condition(name), times, features,
                          stack[:RAW_KEEP].copy(), stack[-RAW_KEEP:].copy())


def _save(path: Path, histories: list[BearingHistory]) -> None:
    arrays = {}
    for h in histories:
        arrays[f"{h.name}|times"] = h.times_s
        arrays[f"{h.name}|raw_head"] = h.raw_head
        arrays[f"{h.name}|raw_tail"] = h.raw_tail
        for k, v in h.features.items():
            arrays[f"{h.name}|f|{k}"] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _load(path: Path) -> list[BearingHistory]:
    with np.load(path) as z:
        names = sorted({k.split("|")[0] for k in z.files})
        out = []
        for name in names:
            feats = {k.split("|", 2)[2]: z[k] for k in z.files if k.startswith(f"{name}|f|")}
            out.append(BearingHistory(name, bearing_condition(name), z[f"{name}|times"], feats,
                                      z[f"{name}|raw_head"], z[f"{name}|raw_tail"]))
    return out


def _archive_members(archive: Path) -> Iterator[tuple[str, int, bytes]]:
    with tarfile.open(archive, "r|xz") as tf:
        for member in tf:
            if not member.isfile():
                continue
            parts = Path(member.name).parts
            acc = _ACC.search(parts[-1])
            if acc and len(parts) >= 2 and _NAME.match(parts[-2]):
                yield parts[-2], int(acc.group(1)), tf.extractfile(member).read()


def _folder_members(folder: Path) -> Iterator[tuple[str, int, bytes]]:
    for bearing in sorted(p for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name)):
        for f in sorted(bearing.glob("acc_*.csv")):
            yield bearing.name, int(_ACC.search(f.name).group(1)), f.read_bytes()


def _collect(members: Iterable[tuple[str, int, bytes]], progress: Progress) -> list[BearingHistory]:
    snapshots: dict[str, dict[int, np.ndarray]] = {}
    for count, (name, index, data) in enumerate(members, 1):
        snapshots.setdefault(name, {})[index] = parse_snapshot(data)
        if count % 2000 == 0:
            progress(f"  parsed {count} snapshots")
    return [_history(name, snaps, progress) for name, snaps in sorted(snapshots.items())]


def load_learning_set(data_dir: Path, cache_dir: Path, progress: Progress = lambda m: None) -> list[BearingHistory]:
    """The six learning bearings from ``data_dir/Learning_set.tar.xz`` (or an unpacked
    ``data_dir/Learning_set/`` folder), features cached under ``cache_dir``."""
    archive = data_dir / LEARNING_ARCHIVE
    if archive.is_file():
        stat = archive.stat()
        cache = _cache_path(cache_dir, archive, f"{stat.st_size}|{stat.st_mtime_ns}")
        return _cached(cache, lambda: _archive_members(archive), f"{archive} (about two minutes)", progress)
    folder = data_dir / "Learning_set" if (data_dir / "Learning_set").is_dir() else data_dir
    return load_folder(folder, cache_dir, progress)


def load_folder(folder: Path, cache_dir: Path, progress: Progress = lambda m: None) -> list[BearingHistory]:
    """Every ``BearingX_Y`` folder under ``folder``, features cached under ``cache_dir`` keyed by the
    listing (names, sizes, modification times)."""
    listing = hashlib.sha256()
    found = False
    for f in sorted(folder.glob("Bearing*/acc_*.csv")):
        st = f.stat()
        listing.update(f"{f.relative_to(folder)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        found = True
    if not found:
        raise FileNotFoundError(f"{folder}: no BearingX_Y/acc_*.csv files")
    cache = _cache_path(cache_dir, folder, listing.hexdigest())
    return _cached(cache, lambda: _folder_members(folder), str(folder), progress)


def _cached(cache: Path, members: Callable[[], Iterable[tuple[str, int, bytes]]], what: str,
            progress: Progress) -> list[BearingHistory]:
    """The histories from ``cache`` if it exists, else parsed from ``members()`` and saved there."""
    if cache.is_file():
        return _load(cache)
    progress(f"reading {what}; cached afterwards in {cache}")
    histories = _collect(members(), progress)
    _save(cache, histories)
    return histories


# --- a quick read of a few bearings' indicator only (the CI test of the detection claims) ------------

def _xz_stream(archive: Path):
    """(file object of the decompressed tar, process or None): the ``xz`` command when installed
    (it decompresses the archive's blocks on two threads, about twice Python's speed), else lzma."""
    import shutil
    import subprocess

    xz = shutil.which("xz")
    if xz:
        proc = subprocess.Popen([xz, "-dc", "-T2", str(archive)], stdout=subprocess.PIPE)
        return proc.stdout, proc
    import lzma

    return lzma.open(archive), None


def horizontal_rms(snapshots: dict[int, bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(times s, horizontal RMS in g) of one bearing's raw ``acc_*.csv`` members, in index order.

    The RMS is taken about each snapshot's mean, as ``bearing_features.snapshot_features`` does
    (``rms_0``, the indicator's input); all snapshots are parsed at once (one C-parser call).
    """
    import io

    import pandas as pd

    order = sorted(snapshots)
    text = b"".join(snapshots[i] if snapshots[i].endswith(b"\n") else snapshots[i] + b"\n" for i in order)
    sep = ";" if b";" in text[:200] else ","
    column = pd.read_csv(io.BytesIO(text), header=None, usecols=[4], sep=sep, engine="c",
                         dtype=np.float64).to_numpy()[:, 0]
    if column.size != len(order) * SNAPSHOT_SAMPLES:
        raise ValueError(f"{column.size} rows are not {len(order)} snapshots of {SNAPSHOT_SAMPLES}")
    x = column.reshape(len(order), SNAPSHOT_SAMPLES)
    x = x - x.mean(axis=1, keepdims=True)
    times = (np.asarray(order, dtype=float) - order[0]) * SNAPSHOT_PERIOD_S
    return times, np.sqrt((x * x).mean(axis=1))


def stream_horizontal_rms(data_dir: Path, wanted: Iterable[str], cache_dir: Path | None = None
                          ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Horizontal RMS per snapshot of the learning bearings ``wanted``, read from the archive and
    stopping as soon as they are complete (members come bearing by bearing: Bearing3_2 first, then
    Bearing1_1, about a third of the archive for those two). Cached under ``cache_dir`` when given.

    Returns
    -------
    dict name -> (times_s, rms_g), each shape (n,)
    """
    wanted = sorted(set(wanted))
    archive = Path(data_dir) / LEARNING_ARCHIVE
    stat = archive.stat()
    cache = None
    if cache_dir is not None:
        cache = _cache_path(Path(cache_dir), archive, f"rms|{','.join(wanted)}|{stat.st_size}|{stat.st_mtime_ns}")
        if cache.is_file():
            with np.load(cache) as z:
                return {name: (z[f"{name}|times"], z[f"{name}|rms"]) for name in wanted}
    raw: dict[str, dict[int, bytes]] = {}
    done: set[str] = set()
    stream, proc = _xz_stream(archive)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tf:
            current = None
            for member in tf:
                if not member.isfile():
                    continue
                parts = Path(member.name).parts
                name = parts[-2] if len(parts) >= 2 else ""
                if name != current:
                    if current in wanted:
                        done.add(current)
                    current = name
                    if done >= set(wanted):
                        break
                acc = _ACC.search(parts[-1])
                if name in wanted and acc:
                    raw.setdefault(name, {})[int(acc.group(1))] = tf.extractfile(member).read()
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        stream.close()
    missing = [n for n in wanted if n not in raw]
    if missing:
        raise FileNotFoundError(f"{archive}: no snapshots of {', '.join(missing)}")
    out = {name: horizontal_rms(raw.pop(name)) for name in wanted}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{n}|{k}": v for n, (t, r) in out.items() for k, v in (("times", t), ("rms", r))}
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(cache)
    return out
