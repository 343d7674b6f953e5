"""The benchmarks are run by hand, so nothing else notices when a change breaks them: each one
must at least start and explain itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(path.name for path in (ROOT / "bench").glob("*.py"))


@pytest.mark.parametrize("bench", BENCHES)
def test_a_bench_starts_and_explains_itself(bench: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own script, our own interpreter
        [sys.executable, str(ROOT / "bench" / bench), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
