"""Runs docs/quickstart.md's bash blocks, in order, in one shell against the test
instance, and checks each block's output against its `# expect:` lines (regexes)."""

import os
import re
import subprocess

from tests.integration.stack import REPO, Ports

DOC = REPO / "docs" / "quickstart.md"
MARK = "__QUICKSTART_BLOCK_END__"


def blocks() -> list[tuple[str, list[str]]]:
    found = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
    out = []
    for body in found:
        expects = re.findall(r"^# expect: (.*)$", body, flags=re.M)
        out.append((body, expects))
    return out


def test_quickstart_commands_produce_what_the_document_says(
    ports: Ports, host_ports: Ports
) -> None:
    parsed = blocks()
    assert len(parsed) >= 7 and all(expects for _, expects in parsed)
    script = "set -u\n" + "".join(f"{body}\necho {MARK}\n" for body, _ in parsed)
    env = {**os.environ, "API": ports.app_url, "DAPR": ports.dapr_url, "HOST": host_ports.app_url}
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    outputs = result.stdout.split(MARK + "\n")
    assert len(outputs) == len(parsed) + 1, result.stdout + result.stderr
    for i, ((body, expects), output) in enumerate(zip(parsed, outputs, strict=False)):
        for expect in expects:
            assert re.search(expect, output, flags=re.M), (
                f"block {i} expected /{expect}/ in:\n{output}\n--- block:\n{body}"
            )
