"""runtime/backup.sh and runtime/restore.sh refuse what is not theirs to handle, with a
message saying why, before they touch anything (no stack needed: STACK_DIR is a
temporary folder)."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, stack_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "runtime" / script), *args],
        env={**os.environ, "STACK_DIR": str(stack_dir), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def _backup_folder(path: Path, with_marker: bool, database: str = "progress") -> Path:
    path.mkdir()
    (path / "postgres.dump").write_bytes(b"not used")
    (path / "manifest").write_text(f"database={database}\n")
    etcd = path / "etcd"
    etcd.mkdir()
    if with_marker:
        (etcd / "dapr-scheduler-existing-cluster").touch()
    with tarfile.open(path / "scheduler-etcd.tar.gz", "w:gz") as tar:
        tar.add(etcd, arcname="etcd")
    return path


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = _run("restore.sh", str(tmp_path / "empty"), stack_dir=tmp_path / "stack")
    assert result.returncode == 1
    assert "is not a backup of runtime/backup.sh" in result.stderr


def test_restore_refuses_scheduler_data_the_scheduler_would_wipe(tmp_path: Path) -> None:
    backup = _backup_folder(tmp_path / "b", with_marker=False)
    result = _run("restore.sh", str(backup), stack_dir=tmp_path / "stack")
    assert result.returncode == 1
    assert "dapr-scheduler-existing-cluster" in result.stderr


def test_restore_refuses_a_database_name_it_would_have_to_quote(tmp_path: Path) -> None:
    backup = _backup_folder(tmp_path / "b", with_marker=True, database='x"; drop')
    result = _run("restore.sh", str(backup), stack_dir=tmp_path / "stack")
    assert result.returncode == 1
    assert "letters, digits and _ only" in result.stderr


def test_backup_never_writes_into_a_folder_that_holds_something(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "old.dump").write_text("keep me")
    result = _run("backup.sh", str(target), stack_dir=tmp_path / "stack")
    assert result.returncode == 1
    assert "exists and is not empty" in result.stderr
    assert (target / "old.dump").read_text() == "keep me"
