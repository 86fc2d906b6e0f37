import pytest

from aiflywheel.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from aiflywheel.kernel.keys import Keys, Principal, Role


@pytest.fixture
def keys(platform):
    return Keys(platform.engine)


def test_a_key_authenticates_as_its_project_and_role(keys):
    key, info = keys.create(Role.WRITER, "default", "ci")
    assert key.startswith(f"fw_{info.key_id}_") and (info.role, info.project, info.name) == ("writer", "default", "ci")
    principal = keys.authenticate(key)
    assert (principal.key_id, principal.project, principal.role) == (info.key_id, "default", Role.WRITER)


def test_only_a_hash_of_the_secret_is_stored(keys, platform):
    key, info = keys.create("reader", "default")
    secret = key.split("_", 2)[2]
    with platform.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM api_keys").scalars().all()
    assert stored and all(secret not in value for value in stored)
    assert secret not in info.model_dump_json()


@pytest.mark.parametrize("key", ["", "nonsense", "fw_", "fw_abc", "xx_abc_def", "fw__secret"])
def test_a_malformed_key_is_unauthorized(keys, key):
    with pytest.raises(Unauthorized, match="malformed"):
        keys.authenticate(key)


def test_an_unknown_wrong_or_revoked_key_is_unauthorized(keys):
    key, info = keys.create("admin", "default")
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        keys.authenticate("fw_000000000000_secret")
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        keys.authenticate(f"fw_{info.key_id}_not-the-secret")
    assert keys.revoke(info.key_id).revoked is True
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        keys.authenticate(key)
    with pytest.raises(NotFound):
        keys.revoke("nosuchkey")


def test_keys_are_listed_per_project(keys):
    keys.create("admin", "default")
    keys.create("reader", "other")
    keys.create("writer", "other")
    assert [k.role for k in keys.list("other")] == [Role.READER, Role.WRITER]
    assert (keys.count("default"), keys.count("other"), keys.count("nobody")) == (1, 2, 0)


def test_an_unknown_role_is_invalid_input(keys):
    with pytest.raises(InvalidInput, match="'root' is not one of reader, writer, admin"):
        keys.create("root", "default")


def test_roles_are_ordered_reader_writer_admin():
    reader = Principal(key_id="k", project_id=1, project="default", role=Role.READER)
    reader.require(Role.READER)
    with pytest.raises(Forbidden, match="reader key cannot do that; it needs a key of role writer"):
        reader.require(Role.WRITER)
    assert Role.ADMIN.allows(Role.WRITER) and Role.WRITER.allows(Role.READER)
    assert not Role.WRITER.allows(Role.ADMIN)
