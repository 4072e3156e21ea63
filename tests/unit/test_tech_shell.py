"""The technicians' app shell as one versioned set (app/tech/shell.py): what is in it, the hash
of each file, and a version that follows every change the phone must pick up."""
import hashlib
import os
import shutil
from pathlib import Path

from app.tech.shell import VENDOR_SHELL, WORKER_IMPORTS, ShellManifest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def staged(tmp_path):
    """A copy of the app's folder and the vendored files the shell names."""
    tech = tmp_path / "static" / "tech"
    shutil.copytree(STATIC / "tech", tech)
    for name in VENDOR_SHELL + WORKER_IMPORTS:
        (tmp_path / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "static" / name).write_text(f"/* {name} */")
    return ShellManifest(tech, tmp_path / "static"), tech


def test_the_shell_lists_every_app_file_but_the_worker_and_the_vendored_ones_with_their_hashes(tmp_path):
    manifest, tech = staged(tmp_path)
    shell = manifest.current()
    assert "/static/tech/js/queue.js" in shell.files and "/static/tech/js/push.js" in shell.files
    assert "/static/tech/tech.css" in shell.files and "/static/tech/icons/icon-192.png" in shell.files
    assert "/static/tech/sw.js" not in shell.files  # the browser checks the worker itself
    assert {f"/static/{name}" for name in VENDOR_SHELL} <= set(shell.files)
    assert not any("workbox" in url for url in shell.files)
    assert shell.files["/static/tech/js/job.js"] == hashlib.sha256((tech / "js/job.js").read_bytes()).hexdigest()
    prelude = shell.worker_prelude()
    assert f'var SHELL_VERSION = "{shell.version}";' in prelude and '"/static/tech/js/app.js": "' in prelude


def test_the_version_changes_with_any_shell_file_the_worker_or_its_imports_and_only_then(tmp_path):
    manifest, tech = staged(tmp_path)
    first = manifest.current().version
    assert manifest.current().version == first  # nothing changed: the same version
    seen = {first}
    for path in (tech / "js/queue.js", tech / "sw.js", tmp_path / "static" / WORKER_IMPORTS[0],
                 tmp_path / "static" / VENDOR_SHELL[0]):
        path.write_text(path.read_text() + "\n// changed\n")
        version = manifest.current().version
        assert version not in seen, path
        seen.add(version)
    (tech / "js" / "new_part.js").write_text("/* a new script */")
    assert manifest.current().version not in seen and "/static/tech/js/new_part.js" in manifest.current().files


def test_a_file_rewritten_with_the_same_size_is_hashed_again(tmp_path):
    manifest, tech = staged(tmp_path)
    script = tech / "js" / "push.js"
    before = manifest.current()
    text = script.read_text()
    script.write_text(text.replace("(function", "(funct1on", 1))  # same length, other bytes
    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # however coarse the clock
    after = manifest.current()
    assert after.files["/static/tech/js/push.js"] != before.files["/static/tech/js/push.js"]
    assert after.version != before.version
