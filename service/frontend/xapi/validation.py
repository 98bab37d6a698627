"""Checking what a Learning Record Provider sends: the xAPI version header, each
statement against Ralph's xAPI 1.0.3 models (``ralph-malph``, the models of the LRS
Open edX uses), and what those models let through that this service cannot take.

Ralph's model is used only as a validator: the statement kept and mapped is the
producer's own object (the model's dump rewrites scores, durations and timestamps).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement

from service.frontend.xapi.mapping import StatementRefused, score_of

# X-Experience-API-Version: 1.0, 1.0.0 ... 1.0.x (the spec: "1.0" is "1.0.0"; before
# 1.0.0 and from 1.1.0 on are refused)
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
VERSION_SERVED = "1.0.3"
# properties the xAPI spec leaves out of "the same statement" (Data 2.3.1): those an LRS
# may set, the activity's definition, the verb's display, attachments
_NOT_COMPARED_TOP = ("id", "authority", "stored", "timestamp", "version", "attachments")


class BadStatement(ValueError):
    """A statement (``index`` in the request, None for PUT's single one) that is not
    valid xAPI or that the mapping refuses: the request is refused with a 400."""

    def __init__(self, index: int | None, field: str, reason: str) -> None:
        where = f"statement {index}" if index is not None else "statement"
        super().__init__(f"{where}, {field}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


def version_ok(header: str | None) -> bool:
    return header is not None and bool(_VERSION.fullmatch(header.strip()))


def _field(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the statement's own path: the model classes a union
    adds (``BaseXapiAgentWithMbox``, ...) are left out."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and p[:1].isupper())]
    return ".".join(parts) or "statement"


def check(raw: Any, index: int | None) -> dict[str, Any]:
    """One statement validated as xAPI; returns it with a canonical ``id`` (lower-case
    UUID; a new one when it had none, as an LRS assigns). Raises BadStatement."""
    if not isinstance(raw, dict):
        raise BadStatement(
            index, "statement", f"a statement is a JSON object, not {type(raw).__name__}"
        )
    try:
        BaseXapiStatement.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise BadStatement(index, _field(first["loc"]), first["msg"]) from exc
    except (KeyError, AttributeError, TypeError) as exc:  # ralph's own validators trip
        raise BadStatement(index, "statement", f"not a valid statement ({exc!r})") from exc
    try:
        score_of(raw.get("result") or {})  # Ralph skips min/max checks when one is 0
    except StatementRefused as exc:
        raise BadStatement(index, exc.field, exc.reason) from exc
    statement = dict(raw)
    statement["id"] = str(uuid.UUID(raw["id"])) if "id" in raw else str(uuid.uuid4())
    return statement


def fingerprint(statement: dict[str, Any]) -> str:
    """SHA-256 of what makes two statements "the same" for a re-sent id (xAPI Data
    2.3.1): everything but the properties an LRS may set, the object's definition, the
    verb's display and attachments; a Group's members in any order."""
    kept = {k: v for k, v in statement.items() if k not in _NOT_COMPARED_TOP}
    verb = dict(kept.get("verb") or {})
    verb.pop("display", None)
    kept["verb"] = verb
    obj = dict(kept.get("object") or {})
    obj.pop("definition", None)
    kept["object"] = obj
    actor = kept.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("member"), list):
        members = sorted(actor["member"], key=lambda m: json.dumps(m, sort_keys=True))
        kept["actor"] = {**actor, "member": members}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Checked:
    """A valid statement with its canonical id and fingerprint."""

    statement: dict[str, Any]
    id: str
    fingerprint: str


def check_batch(raws: list[Any]) -> list[Checked]:
    """Every statement of a request checked, or BadStatement for the first bad one;
    an id sent twice in one request is refused (xAPI: the LRS rejects the batch)."""
    out: list[Checked] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raws):
        statement = check(raw, i)
        sid = statement["id"]
        if sid in seen:
            raise BadStatement(i, "id", f"{sid} is also statement {seen[sid]} of this request")
        seen[sid] = i
        out.append(Checked(statement, sid, fingerprint(statement)))
    return out
