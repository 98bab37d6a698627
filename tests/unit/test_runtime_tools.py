"""The machine tools the runtime scripts need (issue 21, defect 7): Go new enough for the
Dapr build, said clearly when it is not (fake ``go`` commands on PATH); uv at its pinned
version without touching the system's Python (fake ``uv`` and ``python3`` on PATH, the
cache in a temporary folder: nothing is downloaded, nothing of this machine changes)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
SYSTEM_PATH = "/usr/bin:/bin"  # bash, coreutils, flock; no go, no uv


def versions() -> dict[str, str]:
    pairs = re.findall(r"^([A-Z_]+)=(\S+)$", (RUNTIME / "versions.env").read_text(), re.M)
    return dict(pairs)


def fake(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + script)
    path.chmod(0o755)


def run(
    command: list[str], tmp_path: Path, bin_dir: Path | None
) -> subprocess.CompletedProcess[str]:
    path = f"{bin_dir}:{SYSTEM_PATH}" if bin_dir else SYSTEM_PATH
    return subprocess.run(
        command,
        env={
            "PATH": path,
            "HOME": str(tmp_path / "home"),
            "STACK_DIR": str(tmp_path / "stack"),
            "PROGRESS_CACHE": str(tmp_path / "cache"),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )


def require_go(tmp_path: Path, version_output: str | None) -> subprocess.CompletedProcess[str]:
    bin_dir = None
    if version_output is not None:
        bin_dir = tmp_path / "bin"
        fake(
            bin_dir,
            "go",
            f'[[ "$1 $GOTOOLCHAIN" == "version local" ]] || exit 9\necho "{version_output}"\n',
        )
    script = f"source {RUNTIME / 'lib.sh'} && require_go && echo go-ok"
    return run(["bash", "-c", script], tmp_path, bin_dir)


def test_the_minimum_go_is_the_go_directive_of_the_dapr_build() -> None:
    go_mod = (RUNTIME / "dapr-build" / "go.mod").read_text()
    [directive] = re.findall(r"^go (\S+)$", go_mod, re.M)
    assert versions()["GO_MIN_VERSION"] == directive == "1.26.5"
    assert f"github.com/dapr/dapr v{versions()['DAPR_VERSION']}" in go_mod


@pytest.mark.parametrize(
    "output",
    [
        "go version go1.26.5 linux/amd64",
        "go version go1.26.8 linux/amd64",
        "go version go1.27.0 linux/arm64",
        "go version go1.27rc1 linux/amd64",
        "go version go2.0.1 linux/amd64",
    ],
)
def test_a_new_enough_go_passes(tmp_path: Path, output: str) -> None:
    result = require_go(tmp_path, output)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "go-ok\n"


@pytest.mark.parametrize(
    "output",
    [
        "go version go1.26.4 linux/amd64",
        "go version go1.26 linux/amd64",
        "go version go1.26rc2 linux/amd64",
        "go version go1.22.2 linux/amd64",  # Debian bookworm-backports' golang
        "go version go1.19.8 linux/amd64",  # Debian bookworm's golang
    ],
)
def test_an_older_go_is_refused_saying_what_is_needed_and_what_was_found(
    tmp_path: Path, output: str
) -> None:
    result = require_go(tmp_path, output)
    assert result.returncode == 1
    assert "go-ok" not in result.stdout
    assert "Go 1.26.5 or newer is needed to build Dapr 1.18.2" in result.stderr
    assert f"found: {output}" in result.stderr


def test_no_go_or_an_unreadable_version_is_refused(tmp_path: Path) -> None:
    missing = require_go(tmp_path, None)
    assert missing.returncode == 1
    assert "Go is not on PATH" in missing.stderr and "1.26.5 or newer" in missing.stderr
    odd = require_go(tmp_path, "go: something went wrong")
    assert odd.returncode == 1
    assert "cannot read the Go version" in odd.stderr


def test_build_dapr_checks_go_before_building(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "go", 'echo "go version go1.25.3 linux/amd64"\n')
    result = run([str(RUNTIME / "build-dapr.sh")], tmp_path, bin_dir)
    assert result.returncode == 1
    assert "Go 1.26.5 or newer is needed" in result.stderr
    assert not (tmp_path / "cache" / "dapr").exists()


def test_python_env_installs_nothing_into_the_system_python() -> None:
    for script in ("python-env.sh", "uv.sh"):
        text = (RUNTIME / script).read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert "--user" not in code and "--break-system-packages" not in code, script
        # pip runs only as the private virtualenv's: never the system's python3 or pip
        installs = re.findall(r"(\S+) -m pip install", code)
        assert installs == (['"$dir/bin/python"'] if script == "uv.sh" else []), script
        assert code.count("pip install") == len(installs), script
    assert versions()["UV_VERSION"] == "0.13.9"


def test_a_uv_of_the_pinned_version_on_path_is_used_as_it_is(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "uv", 'echo "uv 0.13.9 (x86_64-unknown-linux-gnu)"\n')
    fake(bin_dir, "python3", "exit 7\n")  # never needed
    result = run([str(RUNTIME / "uv.sh")], tmp_path, bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{bin_dir / 'uv'}\n"
    assert not (tmp_path / "cache" / "uv" / "0.13.9").exists()


# python3 as a fresh Debian has it with python3-venv: `-m venv DIR` makes a virtualenv
# whose pip records what it was asked to install (and installs a fake uv of that version).
FAKE_PYTHON = r"""
[[ "$1 $2" == "-m venv" ]] || exit 3
mkdir -p "$3/bin"
cat >"$3/bin/python" <<'PY'
#!/bin/bash
echo "$*" >>"$(dirname "$0")/../pip-calls"
pin="${@: -1}"
printf '#!/bin/bash\necho "uv %s"\n' "${pin#uv==}" >"$(dirname "$0")/uv"
chmod +x "$(dirname "$0")/uv"
PY
chmod +x "$3/bin/python"
"""


def test_uv_is_bootstrapped_into_a_virtualenv_of_its_own_in_the_cache(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake(bin_dir, "uv", 'echo "uv 0.4.0"\n')  # another version on PATH: not used
    fake(bin_dir, "python3", FAKE_PYTHON)
    first = run([str(RUNTIME / "uv.sh")], tmp_path, bin_dir)
    assert first.returncode == 0, first.stderr
    home = tmp_path / "cache" / "uv" / "0.13.9"
    assert first.stdout == f"{home / 'bin' / 'uv'}\n"
    calls = (home / "pip-calls").read_text()
    assert calls == "-m pip install -q --disable-pip-version-check uv==0.13.9\n"

    (bin_dir / "python3").unlink()  # the second time nothing is installed
    again = run([str(RUNTIME / "uv.sh")], tmp_path, bin_dir)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert (home / "pip-calls").read_text() == calls


# python3 as a fresh Debian has it without python3-venv: `-m venv` fails until apt-get
# has installed python3-venv (a fake apt-get on PATH records its calls).
NO_VENV_MODULE = (
    r"""
if [[ ! -f "$HOME/apt-calls" ]]; then echo "ensurepip is not available" >&2; exit 1; fi
"""
    + FAKE_PYTHON
)
FAKE_APT = 'echo "$*" >>"$HOME/apt-calls"\n'


def test_without_the_venv_module_root_installs_python3_venv_with_apt(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    (tmp_path / "home").mkdir()
    fake(bin_dir, "python3", NO_VENV_MODULE)
    fake(bin_dir, "apt-get", FAKE_APT)
    fake(bin_dir, "id", "echo 0\n")
    result = run([str(RUNTIME / "uv.sh")], tmp_path, bin_dir)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "home" / "apt-calls").read_text() == (
        "update -qq\ninstall -y -qq python3-venv\n"
    )
    home = tmp_path / "cache" / "uv" / "0.13.9"
    assert result.stdout == f"{home / 'bin' / 'uv'}\n"


def test_without_the_venv_module_a_user_is_told_to_install_python3_venv(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    (tmp_path / "home").mkdir()
    fake(bin_dir, "python3", NO_VENV_MODULE)
    fake(bin_dir, "apt-get", FAKE_APT)
    fake(bin_dir, "id", "echo 1000\n")
    result = run([str(RUNTIME / "uv.sh")], tmp_path, bin_dir)
    assert result.returncode == 1
    assert "install Debian's python3-venv (apt-get install python3-venv)" in result.stderr
    assert not (tmp_path / "home" / "apt-calls").exists()
    assert not (tmp_path / "cache" / "uv" / "0.13.9").exists()
