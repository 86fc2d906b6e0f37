"""The public API is what ``aiflywheel.__all__`` lists; changing it must be deliberate."""

import aiflywheel


def test_public_names_are_exactly_these():
    assert sorted(aiflywheel.__all__) == sorted(
        [
            "Client",
            "Conflict",
            "FlywheelError",
            "Forbidden",
            "InvalidInput",
            "JobState",
            "KindFailed",
            "KindNotFound",
            "NotFound",
            "Platform",
            "Settings",
            "Stage",
            "Unauthorized",
            "Unavailable",
            "__version__",
        ]
    )
    assert all(hasattr(aiflywheel, name) for name in aiflywheel.__all__)


def test_errors_carry_a_code_and_an_http_status():
    for error in (
        aiflywheel.InvalidInput,
        aiflywheel.NotFound,
        aiflywheel.Conflict,
        aiflywheel.KindNotFound,
        aiflywheel.Unauthorized,
        aiflywheel.Forbidden,
    ):
        instance = error("something")
        assert 400 <= instance.http_status < 500 and instance.to_dict() == {
            "code": instance.code,
            "message": "something",
        }
