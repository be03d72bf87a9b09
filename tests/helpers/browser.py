"""Headless Chromium (Debian's `chromium`) for browser tests: the DOM a page renders, and a
screenshot. Each call runs its own browser with a throwaway profile and waits for it to
exit; on a timeout the whole process group is stopped."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers.procs import need, stop

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def _run(args: list[str], timeout: float) -> str:
    binary = need("chromium")
    profile = tempfile.mkdtemp(prefix="tw-chromium-")
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError(f"chromium did not finish within {timeout}s: {' '.join(args)}"
                             ) from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        raise AssertionError(f"chromium failed ({proc.returncode}): "
                             f"{err.decode(errors='replace')[-2000:]}")
    return out.decode("utf-8", errors="replace")


def dump_dom(url: str, timeout: float = 60.0, lang: str = "en-US") -> str:
    """The page's DOM after it has loaded and rendered."""
    return _run([f"--lang={lang}", "--dump-dom", url], timeout)


def screenshot(url: str, path: Path, width: int = 1280, height: int = 900,
               timeout: float = 60.0) -> Path:
    _run([f"--window-size={width},{height}", f"--screenshot={path}", url], timeout)
    if not path.is_file():
        raise AssertionError(f"chromium wrote no screenshot to {path}")
    return path
