"""The fault suite, short form (make chaos runs the long one, with every scenario): each
scenario's final state must equal the pure domain's replay of the same stream.

Not here: "kill-replica" (three replicas, one killed). It loses one event in about one
run of four (an event applied before the kill is missing from the student's state and
absent from the dead-letter topic; README "Fault suite", issue 6). It stays in
`make chaos`, where it is reported, until that is fixed; here it would make every CI
run a coin toss.
"""

import pytest

from bench.chaos import SCENARIOS, run_scenarios
from tests.integration.stack import Stack

SHORT_FORM = [name for name in SCENARIOS if name != "kill-replica"]


@pytest.mark.parametrize("scenario", SHORT_FORM)
async def test_fault_scenario_loses_and_doubles_nothing(stack: Stack, scenario: str) -> None:
    [result] = await run_scenarios(stack, [scenario], events=240, outage_s=5)
    assert result["problems"] == [], result
