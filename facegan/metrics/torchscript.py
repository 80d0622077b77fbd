"""The tensors of a TorchScript archive, read without PyTorch and without running any of its code.

A TorchScript archive (`torch.jit.save`) is a zip: `ARCHIVE/data.pkl` pickles the module tree, whose tensors
point to raw storages `ARCHIVE/data/KEY` (little-endian, C order); `ARCHIVE/code/` holds the module's
forward pass as readable source. The pickle is read by an unpickler that knows a short list of globals and
refuses every other one in one line, before anything runs: the module classes (`__torch__.*`) become plain
attribute holders, a tensor becomes a NumPy array of its storage, an int list a list. Nothing in the file
is ever called.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

STORAGES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
            "LongStorage": np.int64, "IntStorage": np.int32}


class Module:
    """A module of the archive: its attributes (parameters as arrays, submodules, settings), nothing else."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class Storage:
    """The marker of a storage type in a persistent id: which dtype its bytes hold."""

    def __init__(self, dtype):
        self.dtype = dtype


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2: the view of `storage` at `offset` with `size` and `stride` (in
    elements), copied."""
    last = offset + sum((n - 1) * step for n, step in zip(size, stride))
    if len(size) != len(stride) or min([offset, *size, *stride]) < 0 or (min(size, default=1) and last >= len(storage)):
        raise pickle.UnpicklingError(f"a tensor of size {size} and stride {stride} at {offset} lies outside its "
                                     f"storage of {len(storage)}")
    view = np.lib.stride_tricks.as_strided(storage[offset:], size, [step * storage.itemsize for step in stride])
    return np.array(view)


def _build_intlist(values) -> list:
    return list(values)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storage_bytes):
        super().__init__(file)
        self.storage_bytes = storage_bytes

    def find_class(self, module: str, name: str):
        if module.startswith("__torch__."):
            return type(name, (Module,), {"__module__": module})
        allowed = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
                   ("collections", "OrderedDict"): OrderedDict,
                   ("torch.jit._pickle", "build_intlist"): _build_intlist}
        if (module, name) in allowed:
            return allowed[module, name]
        if module == "torch" and name in STORAGES:
            return Storage(STORAGES[name])
        raise pickle.UnpicklingError(f"refused global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage, key, _location, count = pid
        if kind != "storage" or not isinstance(storage, Storage):
            raise pickle.UnpicklingError(f"refused persistent id {pid!r}")
        return np.frombuffer(self.storage_bytes(str(key)), storage.dtype, int(count))


def read_module(path: Path) -> Module:
    """The module tree of the TorchScript archive at `path`, its tensors as NumPy arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
            if len(pickles) != 1:
                raise FaceganError(f"{path} is not a TorchScript archive (no ARCHIVE/data.pkl)")
            root = pickles[0].split("/")[0]
            with archive.open(pickles[0]) as file:
                return _Unpickler(file, lambda key: archive.read(f"{root}/data/{key}")).load()
    except (zipfile.BadZipFile, OSError, KeyError, EOFError) as error:
        raise FaceganError(f"cannot read {path}: {error}") from None
    except pickle.UnpicklingError as error:
        raise FaceganError(f"{path}: {error}; nothing in the file was run") from None
