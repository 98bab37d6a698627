"""Start-up report of environment variables that look like settings but set nothing: an
unknown ``PROGRESS_*`` name (a typo, or a setting of another version) and a renamed one.

Reported, never refused (docs/settings.md): during a rolling update or after a rollback
an older replica meets the settings of a newer one, and a replica that stops on a name it
does not know would turn a harmless new setting into an outage.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from service.settings import Settings

PREFIX = "PROGRESS_"
# Read by the runtime scripts, not by the app; harmless in the app's environment.
SCRIPT_VARIABLES = frozenset({"PROGRESS_CACHE"})
# Old name -> the setting that replaced it.
RENAMED = {"INTAKE_LANES": "PROGRESS_INTAKE_LANES"}


class Warns(Protocol):
    def warning(self, event: str, **fields: Any) -> Any: ...


@dataclass(frozen=True)
class Finding:
    """A variable that sets nothing, and the name the operator probably meant."""

    name: str
    closest: str | None


def setting_names() -> dict[str, str]:
    """Every variable the app reads -> its field: ``PROGRESS_<FIELD>``, or Dapr's own
    name for the fields that carry one."""
    names = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names[alias if isinstance(alias, str) else PREFIX + field_name.upper()] = field_name
    return names


def unknown_settings(environ: Mapping[str, str]) -> list[Finding]:
    """The ``PROGRESS_*`` variables no setting reads (case as pydantic-settings matches:
    insensitive), each with the closest known name."""
    known = setting_names()
    prefixed = sorted(name for name in known if name.startswith(PREFIX))
    findings = []
    for variable in sorted(environ):
        name = variable.upper()
        if not name.startswith(PREFIX) or name in known or name in SCRIPT_VARIABLES:
            continue
        unprefixed = name.removeprefix(PREFIX)
        if unprefixed in known:  # PROGRESS_DAPR_HTTP_PORT: Dapr's name has no prefix
            closest: str | None = unprefixed
        else:
            matches = difflib.get_close_matches(name, prefixed, n=1, cutoff=0.6)
            closest = matches[0] if matches else None
        findings.append(Finding(variable, closest))
    return findings


def renamed_settings(environ: Mapping[str, str]) -> list[Finding]:
    """Old names still set, each with the name that replaced it."""
    return [Finding(old, new) for old, new in sorted(RENAMED.items()) if old in environ]


def report(environ: Mapping[str, str], log: Warns) -> list[Finding]:
    """Warn (``unknown_setting``, ``renamed_setting``) about each finding; all of them."""
    renamed = renamed_settings(environ)
    unknown = unknown_settings(environ)
    for finding in renamed:
        log.warning(
            "renamed_setting",
            name=finding.name,
            use=finding.closest,
            detail=f"{finding.name} is no longer read: set {finding.closest} instead",
        )
    for finding in unknown:
        log.warning(
            "unknown_setting",
            name=finding.name,
            closest=finding.closest,
            detail=f"{finding.name} is not a setting and is ignored"
            + (f"; did you mean {finding.closest}?" if finding.closest else ""),
        )
    return renamed + unknown
