"""Cross-fit a larger EfficientNet-Lite teacher on a GPU, from a pack written by `trainer teach --pack`.

    python scripts/gpu_teacher.py --pack PACK --out RUN [--folds 5 --epochs 13 --size 225x300 --fold-seed 0]

Needs PyTorch, scikit-learn and Pillow (not the project's TensorFlow). The training images are split into
lesion-grouped folds; one network per fold trains on the other folds (ImageNet weights from the pack,
random rotation, scale, aspect, flips, white balance, saturation, contrast, brightness, gamma and noise on
the GPU; sqrt-balanced class weights; AdamW with warm-up and cosine decay; the epoch with the best
validation balanced accuracy kept) and labels its own fold. RUN/logits.npz then holds out-of-fold logits
for every training image, each fold network's validation and test logits, and the pack's fingerprints;
`trainer teach --cross-fitted RUN/logits.npz` turns it into a teacher folder. On one H200 a run of
5 folds x 13 epochs of EfficientNet-Lite2 at 225x300 takes about 6 minutes.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from torch import nn

CLASSES = 7
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)  # EfficientNet's seven stages
PARTS = ("train", "validation", "test")
STARTED = time.time()


def log(message: str) -> None:
    print(f"[{time.time() - STARTED:6.1f}s] {message}", flush=True)


def same_padding(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's 'same' padding (the ImageNet weights were trained with it)."""
    height, width = x.shape[-2:]
    pad_h = max((math.ceil(height / stride) - 1) * stride + kernel - height, 0)
    pad_w = max((math.ceil(width / stride) - 1) * stride + kernel - width, 0)
    return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """An inverted-residual block without squeeze-excite (Lite), named as the PyTorch state_dicts name it."""

    def __init__(self, inputs: int, expanded: int, outputs: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.expands = expanded != inputs
        if self.expands:
            self._expand_conv = nn.Conv2d(inputs, expanded, 1, bias=False)
            self._bn0 = batch_norm(expanded)
        self._depthwise_conv = nn.Conv2d(expanded, expanded, kernel, stride, groups=expanded, bias=False)
        self._bn1 = batch_norm(expanded)
        self._project_conv = nn.Conv2d(expanded, outputs, 1, bias=False)
        self._bn2 = batch_norm(outputs)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        y = F.relu6(self._bn1(self._depthwise_conv(same_padding(y, self.kernel, self.stride))))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0..4, its blocks read off the pack's ImageNet weights, with a 7-class head."""

    def __init__(self, weights: dict[str, np.ndarray], classes: int = CLASSES) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, bias=False)
        self._bn0 = batch_norm(32)
        blocks, stage, previous = [], -1, None
        while f"_blocks__{len(blocks)}___depthwise_conv__weight" in weights:
            prefix = f"_blocks__{len(blocks)}__"
            depthwise = weights[f"{prefix}_depthwise_conv__weight"]
            outputs = weights[f"{prefix}_project_conv__weight"].shape[0]
            expand = weights.get(f"{prefix}_expand_conv__weight")
            inputs = expand.shape[1] if expand is not None else depthwise.shape[0]
            starts_stage = outputs != previous
            stage += starts_stage
            stride = STAGE_STRIDES[stage] if starts_stage else 1
            blocks.append(MBConv(inputs, depthwise.shape[0], outputs, depthwise.shape[2], stride))
            previous = outputs
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(previous, 1280, 1, bias=False)
        self._bn1 = batch_norm(1280)
        self.dropout = nn.Dropout(0.3)
        self.classifier = nn.Linear(1280, classes)
        state = {name.replace("__", "."): torch.from_numpy(value.astype(np.float32)) for name, value in weights.items()}
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected or any(not name.startswith("classifier") for name in missing):
            raise ValueError(f"backbone weights do not fit: missing {missing}, unexpected {unexpected}")
        self.name = f"EfficientNet-Lite ({len(blocks)} blocks)"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(same_padding(x, 3, 2))))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x)))


def decode_part(images: np.lib.npyio.NpzFile, start: int, count: int) -> np.ndarray:
    """``count`` packed WebP images from row ``start``, as uint8 NHWC."""
    blob, offsets = images["blob"], images["offsets"]

    def one(row: int) -> np.ndarray:
        data = blob[offsets[row] : offsets[row + 1]].tobytes()
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    with ThreadPoolExecutor() as pool:
        return np.stack(list(pool.map(one, range(start, start + count))))


def load_pack(folder: Path, limit: int | None, device: torch.device) -> tuple[dict, dict, np.lib.npyio.NpzFile, dict]:
    """A pack's facts, backbone weights and arrays, and per part its images (on ``device``), labels and image types."""
    pack = json.loads((folder / "pack.json").read_text())
    weights = dict(np.load(folder / "backbone.npz"))
    packed = np.load(folder / "images.npz")
    parts, start = {}, 0
    for name in PARTS:
        count = len(packed[f"{name}_labels"])
        keep = min(count, limit or count)
        images = torch.from_numpy(decode_part(packed, start, keep)).to(device)
        parts[name] = (images, packed[f"{name}_labels"][:keep], packed[f"{name}_domains"][:keep])
        start += count
    log(f"decoded {[len(parts[name][1]) for name in PARTS]} images onto {device}")
    return pack, weights, packed, parts


def sqrt_class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-class loss weights: the square root of inverse class frequency."""
    counts = np.bincount(labels, minlength=CLASSES)
    return np.sqrt(counts.sum() / (CLASSES * np.maximum(counts, 1)))


def set_learning_rate(
    optimizer: torch.optim.Optimizer, peak: float, step: int, steps_per_epoch: int, epochs: int
) -> None:
    """One epoch of linear warm-up, then cosine decay from ``peak`` to zero over all ``epochs``."""
    warm_up = min(1.0, (step + 1) / steps_per_epoch)
    for group in optimizer.param_groups:
        group["lr"] = peak * warm_up * 0.5 * (1 + math.cos(math.pi * step / (epochs * steps_per_epoch)))


SCALE, WIDE_SCALE = (0.7, 1.1), (0.6, 1.3)  # random_affine's zoom ranges


def _uniform(n: int, low: float, high: float, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.empty(n, *shape, device=device).uniform_(low, high)


def random_affine(n: int, aspect_ratio: float, device: torch.device, wide: torch.Tensor | None = None) -> torch.Tensor:
    """Rotation of any angle, scale within ``SCALE`` (``WIDE_SCALE`` in rows where ``wide`` is true; below 1 zooms
    in), aspect +-20%, flips and shifts, in affine_grid's coordinates. ``wide`` only stretches the rows' draws, so every
    other row draws what it would without it."""
    angle = _uniform(n, 0, 2 * math.pi, device=device)
    scale = _uniform(n, *SCALE, device=device)
    if wide is not None:
        stretched = WIDE_SCALE[0] + (scale - SCALE[0]) * (WIDE_SCALE[1] - WIDE_SCALE[0]) / (SCALE[1] - SCALE[0])
        scale = torch.where(wide, stretched, scale)
    aspect = torch.exp(_uniform(n, -0.2, 0.2, device=device))
    flip = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
    scale_x, scale_y = scale * aspect.sqrt() * flip, scale / aspect.sqrt()
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos * scale_x, -sin * scale_y / aspect_ratio  # rotate in pixel space
    theta[:, 1, 0], theta[:, 1, 1] = sin * scale_x * aspect_ratio, cos * scale_y
    theta[:, :, 2] = _uniform(n, -0.1, 0.1, 2, device=device)
    return theta


def recolour(x: torch.Tensor) -> torch.Tensor:
    """White balance, saturation, contrast, brightness, gamma and noise jitter of a 0..1 NCHW batch."""
    n, device = x.shape[0], x.device
    x = x * _uniform(n, 0.9, 1.1, 3, 1, 1, device=device)
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * _uniform(n, 0.7, 1.3, 1, 1, 1, device=device)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = mean + (x - mean) * _uniform(n, 0.8, 1.2, 1, 1, 1, device=device)
    x = (x * _uniform(n, 0.8, 1.2, 1, 1, 1, device=device)).clamp(0, 1)
    x = x ** _uniform(n, 0.8, 1.25, 1, 1, 1, device=device)
    return x + torch.randn_like(x) * _uniform(n, 0.0, 0.02, 1, 1, 1, device=device)


def network_input(images: torch.Tensor, size: tuple[int, int], train: bool) -> torch.Tensor:
    """uint8 NHWC -> the network's NCHW input at ``size``: resampled (and augmented when training)."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    n = x.shape[0]
    if train:
        theta = random_affine(n, x.shape[3] / x.shape[2], x.device)
    else:
        theta = torch.eye(2, 3, device=x.device).expand(n, 2, 3)
    grid = F.affine_grid(theta, (n, 3, *size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if train:
        x = recolour(x)
    x = x.clamp(0, 1) * 255.0
    return ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)  # EfficientNet-Lite's scaling


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Logits averaged over the image and its mirror image."""
    model.eval()
    rows = []
    for start in range(0, len(images), 256):
        with torch.autocast(images.device.type, torch.bfloat16, enabled=images.is_cuda):
            x = network_input(images[start : start + 256], size, train=False)
            rows.append(((model(x) + model(x.flip(3))) / 2).float())
    return torch.cat(rows).cpu().numpy()


def scores(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    probabilities = torch.softmax(torch.from_numpy(logits), 1).numpy()
    present = np.unique(labels)  # a small check set may miss classes: score those it has
    among_present = probabilities[:, present] / probabilities[:, present].sum(1, keepdims=True)
    auc = roc_auc_score(labels, among_present, multi_class="ovr", labels=present) if len(present) > 2 else np.nan
    bmca = balanced_accuracy_score(labels, probabilities.argmax(1))
    return {"balanced_accuracy": float(bmca), "macro_auc": float(auc)}


def train_fold(args, weights, images, labels, train_rows, validation, epochs, fold) -> tuple[nn.Module, list]:
    """One fold network, trained on ``train_rows``; returns it at its best validation epoch."""
    torch.manual_seed(fold + 100 * args.fold_seed)
    device = images.device
    model = EfficientNetLite(weights).to(device).to(memory_format=torch.channels_last)
    class_weight = sqrt_class_weights(labels[train_rows])
    criterion = nn.CrossEntropyLoss(weight=torch.tensor(class_weight, dtype=torch.float32, device=device))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    targets = torch.from_numpy(labels).to(device)
    steps = len(train_rows) // args.batch_size
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        started = time.time()
        model.train()
        order = np.random.default_rng([args.fold_seed, fold, epoch]).permutation(train_rows)
        for step in range(steps):
            set_learning_rate(optimizer, args.lr, epoch * steps + step, steps, epochs)
            rows = torch.from_numpy(order[step * args.batch_size : (step + 1) * args.batch_size]).to(device)
            with torch.autocast(device.type, torch.bfloat16, enabled=images.is_cuda):
                loss = criterion(model(network_input(images[rows], args.size, train=True)).float(), targets[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        epoch_scores = scores(validation[1], predict_logits(model, validation[0], args.size))
        history.append({"epoch": epoch + 1, "loss": loss.item(), "seconds": time.time() - started, **epoch_scores})
        log(f"fold {fold} epoch {epoch + 1}/{epochs}: validation {epoch_scores}")
        if epoch_scores["balanced_accuracy"] > best:
            best = epoch_scores["balanced_accuracy"]
            best_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, history


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, required=True, help="folder written by `trainer teach --pack`")
    parser.add_argument("--out", type=Path, required=True, help="folder for logits.npz and run.json")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--size", default="225x300", help="network input, HEIGHTxWIDTH (default 225x300)")
    parser.add_argument("--fold-seed", type=int, default=0, help="seed of the folds and the training")
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, help="use only the first N images of each part (quick checks)")
    args = parser.parse_args(argv)
    args.size = tuple(int(side) for side in args.size.split("x"))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    pack, weights, packed, parts = load_pack(args.pack, args.limit, device)
    images, labels, _ = parts["train"]
    groups = packed["train_groups"][: len(labels)]
    folds = StratifiedGroupKFold(args.folds, shuffle=True, random_state=args.fold_seed).split(labels, labels, groups)
    out_of_fold = np.zeros((len(labels), CLASSES), np.float32)
    validation_logits, test_logits, histories = [], [], []
    for fold, (train_rows, own_rows) in enumerate(folds):
        model, history = train_fold(args, weights, images, labels, train_rows, parts["validation"], args.epochs, fold)
        out_of_fold[own_rows] = predict_logits(model, images[torch.from_numpy(own_rows).to(device)], args.size)
        validation_logits.append(predict_logits(model, parts["validation"][0], args.size))
        test_logits.append(predict_logits(model, parts["test"][0], args.size))
        histories.append(history)
        log(f"fold {fold}: out-of-fold {scores(labels[own_rows], out_of_fold[own_rows])}")
    network = f"{pack['backbone']} at {args.size[0]}x{args.size[1]}"
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "logits.npz",
        oof=out_of_fold,
        validation=np.stack(validation_logits),
        test=np.stack(test_logits),
        held_out_digest=pack["held_out_digest"],
        train_order_digest=pack["train_order_digest"],
        network=network,
    )
    facts = {
        "network": network,
        "arguments": {key: value if not isinstance(value, Path) else str(value) for key, value in vars(args).items()},
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "seconds": time.time() - STARTED,
        "out_of_fold": scores(labels, out_of_fold),
        "validation_fold_mean": scores(parts["validation"][1], np.mean(validation_logits, 0)),
        "test_fold_mean": scores(parts["test"][1], np.mean(test_logits, 0)),
        "histories": histories,
    }
    (args.out / "run.json").write_text(json.dumps(facts, indent=1) + "\n")
    log(f"wrote {args.out}: out-of-fold {facts['out_of_fold']}, validation {facts['validation_fold_mean']}")


if __name__ == "__main__":
    main()
