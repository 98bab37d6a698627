"""No secret or JWT reaches a log line."""

from service.dev_token import mint
from service.log_config import MASK, redact


def test_sensitive_keys_and_jwt_shaped_values_are_masked() -> None:
    token = mint("admin", "a")
    event = redact(
        None,
        "info",
        {
            "event": f"got Bearer {token}",
            "authorization": "Bearer abc",
            "dapr_api_token": "xyz",
            "headers": {"Authorization": token, "x-other": "fine"},
            "student_id": "s1",
        },
    )
    assert token not in str(event)
    assert event["authorization"] == MASK and event["dapr_api_token"] == MASK
    assert event["headers"] == {"Authorization": MASK, "x-other": "fine"}
    assert event["student_id"] == "s1" and event["event"] == f"got Bearer {MASK}"
