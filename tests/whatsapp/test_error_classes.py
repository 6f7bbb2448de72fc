"""The error-class table in code and the one in docs/whatsapp.md say the same."""
from pathlib import Path

from chats.whatsapp.errors import SEND_ERRORS, Action, error_class

DOC = Path(__file__).resolve().parents[2] / "docs" / "whatsapp.md"


def test_every_code_is_documented_with_its_action_and_reason():
    text = DOC.read_text()
    for code, known in SEND_ERRORS.items():
        assert f"| {code} | {known.action.value} | `{known.failure_code}` | {known.reason} |" in text, code


def test_the_classes_meta_asks_for():
    assert error_class(130429).action is Action.RETRY and error_class(131056).action is Action.RETRY
    assert error_class(131047).failure_code == "window_closed"
    assert error_class(131042).action is Action.FIX_CONFIGURATION
    assert error_class(999999, http_status=503).action is Action.RETRY
    assert error_class(999999, http_status=400).action is Action.STOP
