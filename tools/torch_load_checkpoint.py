#!/usr/bin/env python3
"""Loads a perceptcl training checkpoint into PyTorch modules.

A cross-check of the layout that include/perceptcl/train_weights.h documents, not
part of the test suite:

    python3 tools/torch_load_checkpoint.py MODEL.safetensors.train

reads the file with safetensors.torch.load_file, keeps the model's entries
("<i>.weight", "<i>.bias", "<i>.running_mean", "<i>.running_var", or
"<name>.weight" ... for a named layer; the "optimizer." and "best." entries
are training state, not a module's), builds an nn.Sequential with a module
per layer index (an nn.ModuleDict when the layers are named; nn.Conv2d for a 4-D weight,
nn.Linear for a 2-D one, nn.BatchNorm for an index with running statistics,
nn.Identity for layers without tensors such as activations and reshapes) and
calls load_state_dict(strict=True) on it: the shapes must be PyTorch's as
they are. For a model of your own, rename the keys instead, e.g.

    sd = model_state_dict(load_file(path))
    mine.load_state_dict({"layer3.weight": sd["3.weight"], ...})

Needs torch; reads the file with safetensors.torch.load_file when the
safetensors package is installed, else with the few lines below (the format
is an 8-byte header length, a JSON header, then the raw data).
"""
import argparse
import collections
import json
import struct
import sys

import torch

try:
    from safetensors.torch import load_file
except ImportError:
    def load_file(path):
        """The F32 tensors of a safetensors file, as safetensors.torch.load_file gives them."""
        with open(path, "rb") as f:
            blob = f.read()
        (length,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + length])
        data = blob[8 + length:]
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            if entry["dtype"] != "F32":
                raise ValueError(f"{path}: {name} is {entry['dtype']}, expected F32")
            begin, end = entry["data_offsets"]
            flat = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
            tensors[name] = flat.reshape(entry["shape"])
        return tensors


def model_state_dict(tensors):
    """The entries of a module: training state ("optimizer.", "best.") dropped."""
    return {k: v for k, v in tensors.items() if not k.startswith(("optimizer.", "best."))}


def module_for_tensors(t, previous, where):
    """The torch module whose state_dict is t (names without the layer prefix)."""
    if "running_mean" in t:
        c = t["running_mean"].shape[0]
        return torch.nn.BatchNorm1d(c) if isinstance(previous, torch.nn.Linear) else torch.nn.BatchNorm2d(c)
    if t["weight"].dim() == 4:
        out_c, in_c, kh, kw = t["weight"].shape
        return torch.nn.Conv2d(in_c, out_c, (kh, kw), bias="bias" in t)
    if t["weight"].dim() == 2:
        out_f, in_f = t["weight"].shape
        return torch.nn.Linear(in_f, out_f, bias="bias" in t)
    raise ValueError(f"layer {where}: weight of shape {tuple(t['weight'].shape)} is not a known module's")


def module_for(state_dict):
    """A module whose state_dict has the keys and shapes given: an nn.Sequential
    for index names ("0.weight"), an nn.ModuleDict in file order when the layers
    are named (SRCNN's "conv1.weight")."""
    layers = collections.OrderedDict()
    for key, value in state_dict.items():
        prefix, name = key.rsplit(".", 1)
        layers.setdefault(prefix, {})[name] = value
    if not all(prefix.isdigit() for prefix in layers):
        modules, previous = collections.OrderedDict(), None
        for prefix, t in layers.items():
            modules[prefix] = previous = module_for_tensors(t, previous, prefix)
        return torch.nn.ModuleDict(modules)
    indexed = {int(prefix): t for prefix, t in layers.items()}
    modules, previous = [], None
    for i in range(max(indexed) + 1 if indexed else 0):
        t = indexed.get(i)
        if t is None:
            modules.append(torch.nn.Identity())
            continue
        previous = module_for_tensors(t, previous, i)
        modules.append(previous)
    return torch.nn.Sequential(*modules)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    args = parser.parse_args()
    tensors = load_file(args.checkpoint)
    state_dict = model_state_dict(tensors)
    model = module_for(state_dict)
    result = model.load_state_dict(state_dict, strict=True)
    for key, value in state_dict.items():
        print(f"{key:24s} {tuple(value.shape)}")
    print(model)
    reader = "safetensors" if "safetensors" in sys.modules else "the built-in reader"
    print(f"read with {reader}; load_state_dict(strict=True): {result}; {len(state_dict)} model tensors, "
          f"{len(tensors) - len(state_dict)} training-state tensors left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
