"""Which service code runs: a snapshot of a commit (the default, so that work in progress is not measured),
or the working tree as it is."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
WORKTREE = "worktree"
PRODUCT_PATHS = ("app", "workers", "specifications")
BUILD_SCRIPT = "setup.py"  # the compiled modules, built into a snapshot as `pip install` builds them


@dataclass(frozen=True)
class Code:
    folder: Path  # where the service's packages are imported from
    label: str  # what the report says was measured

    @property
    def is_worktree(self) -> bool:
        return self.folder == REPOSITORY


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def code_at(revision: str, cache: Path) -> Code:
    """The product packages of `revision` (read with `git archive`, which changes nothing in the repository)."""
    if revision == WORKTREE:
        changed = _git("status", "--porcelain", "--", *PRODUCT_PATHS).splitlines()
        dirty = f", with uncommitted changes in {len(changed)} product files" if changed else ""
        return Code(REPOSITORY, f"working tree at {_git('rev-parse', '--short', 'HEAD')}{dirty}")
    commit = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    folder = cache / "code" / commit[:12]
    if not folder.exists():
        built = (
            subprocess.run(
                ["git", "cat-file", "-e", f"{commit}:{BUILD_SCRIPT}"], cwd=REPOSITORY, capture_output=True
            ).returncode
            == 0
        )
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, *PRODUCT_PATHS, *([BUILD_SCRIPT] if built else [])],
            cwd=REPOSITORY, capture_output=True, check=True,
        )  # fmt: skip
        partial = folder.with_name(folder.name + ".part")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(partial, filter="data")
        if built:
            subprocess.run(
                [sys.executable, BUILD_SCRIPT, "--quiet", "build_ext", "--inplace"],
                cwd=partial, capture_output=True, check=True,
            )  # fmt: skip
        partial.rename(folder)
    return Code(folder, f"commit {commit[:12]} ({revision})")
