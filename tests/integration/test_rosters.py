"""Rosters through the real stack: the example OneRoster bundle imported, a bad bundle
refused whole with file, line and reason (nothing applied), a delta applied on top, and
the teachers' reach following each."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import httpx

from service.rosters.cli import bundle_bytes
from tests.integration.support import bearer

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "oneroster"


def renamed(tag: str) -> dict[str, str]:
    """The example bundle's CSV files with every id made unique to this test run."""
    files = {}
    for path in EXAMPLE.glob("*.csv"):
        text = path.read_text()
        if path.name != "manifest.csv":
            for name in ("py1-a", "py1-b", "ms-lee", "mr-ode", "ana", "ben", "chloe", "dev"):
                text = text.replace(f",{name},", f",{name}-{tag},").replace(
                    f"\n{name},", f"\n{name}-{tag},"
                )
        files[path.name] = text
    return files


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


async def classes_of(anonymous: httpx.AsyncClient, teacher: str) -> dict[str, int]:
    r = await anonymous.get("/classes", headers=bearer("teacher", teacher))
    assert r.status_code == 200, r.text
    return {c["class_id"]: c["student_count"] for c in r.json()["items"]}


async def import_bundle(api: httpx.AsyncClient, data: bytes) -> httpx.Response:
    return await api.post(
        "/rosters/oneroster", content=data, headers={"Content-Type": "application/zip"}
    )


async def test_the_example_bundle_parses_as_it_is_shipped() -> None:
    """docs/examples/oneroster is what docs/rosters.md tells people to import."""
    assert bundle_bytes(EXAMPLE)[:2] == b"PK"


async def test_import_refuse_and_delta(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    files = renamed(tag)
    # the import replaces every class (bulk): put one that must disappear
    r = await api.put(
        f"/classes/stale-{tag}", json={"title": "old", "teacher_ids": [f"ms-lee-{tag}"]}
    )
    assert r.status_code == 200

    r = await import_bundle(api, zipped(files))
    assert r.status_code == 200, r.text
    assert r.json()["classes_in_bundle"] == 2 and r.json()["enrollments_in_bundle"] == 6
    assert await classes_of(anonymous, f"ms-lee-{tag}") == {f"py1-a-{tag}": 3}
    assert await classes_of(anonymous, f"mr-ode-{tag}") == {f"py1-b-{tag}": 1}

    bad = dict(files)
    bad["enrollments.csv"] += (
        f"en-7,active,2026-09-02T08:00:00Z,nope-{tag},school-1,ana-{tag},student,false\n"
    )
    bad["classes.csv"] = bad["classes.csv"].replace("Python 1 (group A)", "Renamed")
    r = await import_bundle(api, zipped(bad))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    [problem] = r.json()["problems"]
    assert (problem["file"], problem["line"]) == ("enrollments.csv", 8)
    assert f"nope-{tag}" in problem["reason"]
    classes = (await api.get("/classes", params={"limit": 200})).json()["items"]
    titles = {c["class_id"]: c["title"] for c in classes}
    assert titles[f"py1-a-{tag}"] == "Python 1 (group A)"  # nothing of it applied

    delta = {
        "manifest.csv": files["manifest.csv"]
        .replace("file.classes,bulk", "file.classes,absent")
        .replace("file.users,bulk", "file.users,absent")
        .replace("file.enrollments,bulk", "file.enrollments,delta"),
        "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,userSourcedId,role\n"
        f"en-3,tobedeleted,2026-09-03T08:00:00Z,py1-a-{tag},ben-{tag},student\n",
    }
    r = await import_bundle(api, zipped(delta))
    assert r.status_code == 200, r.text
    assert await classes_of(anonymous, f"ms-lee-{tag}") == {f"py1-a-{tag}": 2}
