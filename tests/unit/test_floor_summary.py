"""The floor driver's summary over rounds and the table it prints, from made-up runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.floor.driver import (
    DEFAULT_VARIANTS,
    VARIANTS,
    cpu_table,
    error_summary,
    resummarise,
    summarise,
    table,
)
from bench.floor.plan import DriverSettings

SETTINGS = DriverSettings(
    rates=(50, 100), step_seconds=5, cpu_rate=100, cpu_seconds=10, variants=("http", "grpc-clients")
)


def run(variant: str, app: float, daprd: float, p95: float | None, sat: float) -> dict[str, Any]:
    def step(rate: float, cpu_step: bool) -> dict[str, Any]:
        return {
            "rate": rate,
            "cpu_step": cpu_step,
            "latency_ms": {"p50": 10.0, "p95": p95},
            "saturated": p95 is None,
            "cpu": {
                "app": {"cpu_ms_per_event": app},
                "daprd": {"cpu_ms_per_event": daprd},
            },
            "app_and_daprd_cpu_ms_per_event": app + daprd,
        }

    return {
        "variant": variant,
        "steps": [step(50, False), step(100, True)],
        "saturation": {"events_per_s": sat, "app_and_daprd_cpu_ms_per_event": 2.0},
    }


def test_medians_ranges_and_ratios_over_rounds() -> None:
    runs = [
        run("http", 4.0, 4.0, 30.0, 500.0),
        run("grpc-clients", 2.0, 2.0, 20.0, 1000.0),
        run("grpc-clients", 3.0, 3.0, None, 800.0),
        run("http", 5.0, 5.0, 50.0, 700.0),
    ]
    summary = summarise(runs, SETTINGS)
    http, grpc = summary["http"], summary["grpc-clients"]
    assert http["cpu_app_and_daprd"]["median"] == 9.0
    assert (http["cpu_app_and_daprd"]["low"], http["cpu_app_and_daprd"]["high"]) == (8.0, 10.0)
    assert grpc["cpu_app_and_daprd"]["median"] == 5.0
    assert grpc["ratio_to_http"]["cpu_app_and_daprd"] == 0.56
    assert grpc["ratio_to_http"]["saturation"] == 1.5
    assert grpc["p95_at_100"]["values"] == [20.0]  # the saturated round has no p95
    assert grpc["saturated_at_100"] == [False, True]
    text = table(summary, SETTINGS)
    assert "| http | 4.50 (4.00–5.00) | 4.50 (4.00–5.00) | 9.00 (8.00–10.00) | 1 / — |" in text
    assert "| grpc-clients |" in text and "| 0.56 / — |" in text and "| 1.5 / — |" in text
    assert "| http | 9.00 (8.00–10.00) | 9.00 (8.00–10.00) | 2.00 |" in cpu_table(summary, SETTINGS)


def test_a_results_file_is_summarised_again(tmp_path: Path) -> None:
    path = tmp_path / "floor.json"
    settings = {
        "rates": [50, 100],
        "step_seconds": 5,
        "cpu_rate": 100,
        "cpu_seconds": 10,
        "variants": ["http"],
    }
    runs = [run("http", 1.0, 2.0, 30.0, 500.0)]
    path.write_text(json.dumps({"settings": settings, "runs": runs, "summary": {}}))
    document, again = resummarise(path)
    assert again.variants == ("http",) and again.rates == (50, 100)
    assert document["summary"]["http"]["cpu_app_and_daprd"]["median"] == 3.0
    assert json.loads(path.read_text())["summary"] == document["summary"]


def test_a_variant_that_failed_says_why() -> None:
    runs = [
        run("http", 4.0, 4.0, 30.0, 500.0),
        {
            "variant": "grpc-clients",
            "error_summary": "RuntimeError: no stream",
            "error": "RuntimeError('no stream')\ntraceback",
        },
    ]
    summary = summarise(runs, SETTINGS)
    assert summary["grpc-clients"]["errors"] == ["RuntimeError: no stream"]
    assert "| grpc-clients | did not run: RuntimeError: no stream |" in table(summary, SETTINGS)


def test_the_error_line_says_what_went_wrong() -> None:
    exc = RuntimeError(
        "/x/runtime/app.sh start floor-turns failed (1):\n"
        "  status = StatusCode.UNAUTHENTICATED\n"
        "grpc_host Actor event stream failed with non-transient error: Unauthorized\n"
        "ERROR:    Application startup failed. Exiting."
    )
    assert error_summary(exc) == (
        "RuntimeError: grpc_host Actor event stream failed with non-transient error: Unauthorized"
    )
    assert error_summary(ValueError("plain")) == "ValueError: plain"


def test_default_variants_are_known_and_the_issue_s_list() -> None:
    assert set(DEFAULT_VARIANTS) <= set(VARIANTS)
    assert DEFAULT_VARIANTS[0] == "http" and "service" in DEFAULT_VARIANTS
    assert VARIANTS["stream-host"].daprd_args[:2] == ("--app-protocol", "grpc")
    assert VARIANTS["gogc-400"].env == {"DAPRD_GOGC": "400"}
    assert VARIANTS["telemetry-off"].telemetry_off
