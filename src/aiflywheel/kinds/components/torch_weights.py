"""Read a PyTorch state dict (the legacy, non-zip ``torch.save`` format) into numpy, without torch.

Some models ship only as a ``.pth`` state dict. Importing torch (750 MB, ~300 MB resident)
to read 19 MB of weights once is not worth it: the legacy format is a few pickles followed
by each storage's raw little-endian bytes, and this reads exactly that. Only plain tensors
of float, int and bool storages are understood; anything else is a ``KindFailed``.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from aiflywheel.errors import KindFailed

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _TensorRef:
    """A tensor waiting for its storage's bytes, which come after the pickle."""

    def __init__(self, key: str, offset: int, size: tuple[int, ...], stride: tuple[int, ...]):
        self.key, self.offset, self.size, self.stride = key, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict[str, np.dtype]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a state dict")

    def persistent_load(self, pid):
        _kind, storage_type, key, _location, _numel = pid[:5]
        self._storages[key] = storage_type.dtype
        return key


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Parameter name -> numpy array, from a legacy-format ``torch.save`` file."""
    storages: dict[str, np.dtype] = {}
    try:
        with open(path, "rb") as file:
            if pickle.load(file) != LEGACY_MAGIC:
                raise KindFailed(f"{path} is not a legacy PyTorch state dict")
            pickle.load(file)  # protocol version
            pickle.load(file)  # system info (little-endian, type sizes)
            refs = _Unpickler(file, storages).load()
            keys = pickle.load(file)
            data: dict[str, np.ndarray] = {}
            for key in keys:
                count = int.from_bytes(file.read(8), "little")
                dtype = storages[key]
                data[key] = np.frombuffer(file.read(count * dtype.itemsize), dtype=dtype)
    except (OSError, pickle.UnpicklingError, EOFError, KeyError) as exc:
        raise KindFailed(f"cannot read the weights in {path}: {exc}") from exc
    out = {}
    for name, ref in refs.items():
        flat = data[ref.key]
        strides = tuple(step * flat.itemsize for step in ref.stride)
        view = np.lib.stride_tricks.as_strided(flat[ref.offset :], shape=ref.size, strides=strides)
        out[name] = np.array(view)
    return out
