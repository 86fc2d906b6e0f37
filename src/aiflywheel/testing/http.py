"""``assert_error``: the REST error contract, checked on one response."""

from __future__ import annotations


def assert_error(response, status: int, code: str, *words: str) -> None:
    """A JSON ``{"error": {"code", "message"}}`` with ``status``, ``code``, every word in the message, no trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code
    assert "Traceback" not in response.text and 'File "' not in response.text
    for word in words:
        assert word in response.json()["error"]["message"]
