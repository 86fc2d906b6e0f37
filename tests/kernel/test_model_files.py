from aiflywheel.backends.artifacts import LocalArtifactStore
from aiflywheel.kernel.model_files import pack, unpack


def test_pack_is_deterministic_and_unpack_restores_the_files(tmp_path):
    store = LocalArtifactStore(tmp_path / "artifacts")
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "model.txt").write_text("trees")
    (model / "sub" / "pipeline.json").write_text("{}")
    first = pack(model, store, tmp_path / "scratch")
    (model / "model.txt").touch()  # a new mtime must not change the digest
    assert pack(model, store, tmp_path / "scratch") == first
    restored = unpack(first, store, tmp_path / "cache")
    assert (restored / "model.txt").read_text() == "trees"
    assert (restored / "sub" / "pipeline.json").read_text() == "{}"
    assert unpack(first, store, tmp_path / "cache") == restored, "unpacked once, then reused"
    assert not list((tmp_path / "scratch").iterdir()), "no bundle left in scratch"
