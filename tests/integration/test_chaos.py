"""The fault suite, short form (make chaos runs the long one): each scenario's final
state must equal the pure domain's replay of the same stream."""

import pytest

from bench.chaos import SCENARIOS, run_scenarios
from tests.integration.stack import Stack


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_fault_scenario_loses_and_doubles_nothing(stack: Stack, scenario: str) -> None:
    [result] = await run_scenarios(stack, [scenario], events=240, outage_s=5)
    assert result["problems"] == [], result
