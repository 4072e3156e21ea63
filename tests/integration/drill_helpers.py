"""Helpers of the fault drills (issue 20): a small real filesystem to fill, and counting."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(path: Path, size: str = "1m"):
    """A tmpfs of ``size`` mounted at ``path`` (needs root: the drills run as root in CI and here);
    skips the test, saying why, where it cannot be mounted. A real filesystem that fills up, so
    ENOSPC comes from the kernel, not from a patched ``os.write``."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("the disk-full drill needs root to mount a small tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until the filesystem refuses (ENOSPC); returns it."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as handle:
        chunk = b"\0" * 4096
        try:
            while True:
                handle.write(chunk)
        except OSError:
            pass
    return filler


REPO = Path(__file__).resolve().parents[2]


def start_server(port: int, env: dict, log_path: Path, timeout_s: float = 60.0, own_process_group: bool = False):
    """``python -m app serve`` on ``port`` with ``env``; returns the process once ``/healthz``
    answers (fails the test with the log if it does not). ``own_process_group``: in a session of
    its own, so that ``os.killpg(process.pid, SIGKILL)`` kills its worker with it (a crash drill)."""
    import sys
    import time

    import requests

    log = open(log_path, "ab")
    process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=REPO,
                               env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=own_process_group)
    log.close()
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the app did not answer within {timeout_s:g} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def eventually(condition, timeout_s: float = 15.0) -> bool:
    """Whether ``condition()`` became true within ``timeout_s`` seconds (polled every 0.1 s)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def stop_server(process, timeout_s: float = 20.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sign_in(base_url: str, email: str, password: str):
    """A requests session signed in through the login form (with its CSRF token)."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base_url}/login", data={"email": email, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return session
