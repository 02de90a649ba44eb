"""Read a legacy (non-zip) PyTorch state_dict into NumPy arrays without torch.

A plain ``pickle.load`` of a downloaded file can run arbitrary code, so the unpickler below
resolves only the handful of globals a tensor state_dict needs and refuses everything else.
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _StorageRef:
    def __init__(self, key: str, dtype: type) -> None:
        self.key, self.dtype = key, dtype


class _TensorRef:
    def __init__(self, storage: _StorageRef, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, *_rest = pid
        if kind != "storage" or storage_type not in _STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        return _StorageRef(key, _STORAGE_DTYPES[storage_type])


def load_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return ``{name: array}`` from a legacy-format ``torch.save`` state_dict file."""
    with Path(path).open("rb") as handle:
        if _RestrictedUnpickler(handle).load() != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy PyTorch file")
        _RestrictedUnpickler(handle).load()  # protocol version
        _RestrictedUnpickler(handle).load()  # sys info
        state = _RestrictedUnpickler(handle).load()
        keys = _RestrictedUnpickler(handle).load()
        dtypes = {ref.storage.key: ref.storage.dtype for ref in state.values() if isinstance(ref, _TensorRef)}
        storages = {key: _read_storage(handle, dtypes.get(key, np.float32)) for key in keys}
    return {name: _materialise(ref, storages) for name, ref in state.items() if isinstance(ref, _TensorRef)}


def _read_storage(handle: BinaryIO, dtype: type) -> np.ndarray:
    (count,) = struct.unpack("<q", handle.read(8))
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(handle.read(count * itemsize), dtype=dtype)


def _materialise(ref: _TensorRef, storages: dict[str, np.ndarray]) -> np.ndarray:
    flat = storages[ref.storage.key]
    itemsize = flat.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        flat[ref.offset :], shape=ref.size, strides=tuple(s * itemsize for s in ref.stride)
    ).copy()
