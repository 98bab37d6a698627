"""Upload a OneRoster 1.2 CSV bundle to a running service (``make roster-import``):
python -m service.rosters.cli PATH [--api URL] [--token JWT]

PATH is the bundle's zip, or a folder holding its CSV files (zipped here). Without
``--token`` a local development admin token is minted. Prints what changed, or every
problem (file:line: reason) when the bundle is refused; exits 1 then."""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import httpx

from service.dev_token import mint


def bundle_bytes(path: Path) -> bytes:
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for csv_file in sorted(path.glob("*.csv")):
            bundle.write(csv_file, csv_file.name)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    token = args.token or mint("admin", "roster-import")
    response = httpx.post(
        f"{args.api}/rosters/oneroster",
        content=bundle_bytes(args.path),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/zip"},
        timeout=120,
    )
    body = response.json()
    if response.status_code == 200:
        sys.stdout.write(
            f"applied: {body['classes_written']} classes written, "
            f"{body['classes_deleted']} deleted ({body['classes_in_bundle']} classes, "
            f"{body['enrollments_in_bundle']} enrollments in the bundle)\n"
        )
        return 0
    sys.stderr.write(f"refused (HTTP {response.status_code}): {body.get('detail')}\n")
    for problem in body.get("problems", []):
        line = f":{problem['line']}" if problem["line"] is not None else ""
        sys.stderr.write(f"  {problem['file']}{line}: {problem['reason']}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
