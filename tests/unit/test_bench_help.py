"""The benchmark's own help is what a newcomer reads first: it must print."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_help_lists_every_scenario() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    words = " ".join(shown.stdout.split())  # argparse wraps to the terminal's width
    assert "f: 1% invalid rows" in words
    assert "--quick" in words
