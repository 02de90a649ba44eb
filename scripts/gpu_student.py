"""Train the shipped student network on a GPU, distilled from a teacher folder, for `trainer build --weights`.

    python scripts/gpu_student.py --pack PACK --teacher TEACHER --out RUN [--epochs 30 --teacher-weight 0.4]
    python scripts/gpu_student.py --pack PACK --teacher-weight 0 --out RUN    # true labels only

PACK is written by `trainer teach --pack --backbone` with EfficientNet-Lite0's ImageNet weights, TEACHER by
`trainer teach` on the same split. The network is the one `trainer build` builds for the default recipe
with `--colour-constancy shades-of-gray` (Shades of Gray at the input, x1.5 aligned-corner upsampling of the
75x100 input, EfficientNet-Lite0, dropout, batch norm, Dense 256, dropout, Dense 7), trained in PyTorch
because the GPU machines have PyTorch, not TensorFlow. Each training image is augmented on the GPU at its
200x150 pack resolution (rotation, scale, aspect, flips, shifts, white balance, saturation, contrast,
brightness, gamma, noise; with `--clinical-augmentation strong`, close-ups also get a wider zoom, a second colour
jitter and random blur), then area-resized to the 75x100 the page sends (with `--mixup ALPHA`, each batch is
then blended with a shuffled copy of itself, targets and weights too). Targets blend the true class with
the teacher's probabilities (with `--clinical-teacher paired-mean`, a MILK10k close-up's teacher row is the
mean of its own and its lesion's dermoscopic photo's, since the teacher judges the dermoscopic one far
better); sqrt-balanced class weights (`--clinical-weight W` also weighs each close-up W times); AdamW with
warm-up and cosine decay; the epoch with the best validation balanced accuracy is kept. With `--start FILE`
(`trainer teach --exported MODEL --student-start FILE`) it fine-tunes that exported network instead, its batch
norms frozen; there `--pair-alignment W` also pulls each MILK10k close-up's embedding (the classifier's input)
towards its lesion's dermoscopic photo's, run through the network without gradients. RUN/student.npz holds
its weights under PyTorch names, RUN/run.json the recipe, the history and the scores per image type on the
un-augmented training, validation and test images (the training scores show how closely each photo type was
fitted); `trainer build --weights RUN/student.npz` loads them into the Keras model, then calibrates, exports and
reports as for any build.
Each epoch leaves RUN/checkpoint.pt, so the same command run again after an interruption goes on from the last
finished epoch (a CPU run takes hours).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from gpu_teacher import (
    CLASSES,
    STARTED,
    WIDE_SCALE,
    EfficientNetLite,
    load_pack,
    log,
    random_affine,
    recolour,
    scores,
    set_learning_rate,
    sqrt_class_weights,
)
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

INPUT_SIZE = (75, 100)  # the page's input, HEIGHTxWIDTH
UPSAMPLE = 1.5
ARCHITECTURE = {"arch": "efficientnet-lite0", "upsample": UPSAMPLE, "colour_constancy": "shades-of-gray"}
SHADES_OF_GRAY_POWER = 6.0
HEAD_UNITS = 256
DROPOUT = 0.3
CLINICAL, DERMOSCOPIC_PAIR = "milk10k clinical", "milk10k dermoscopic"  # the pack's image types of a lesion pair
CHECKPOINT = "checkpoint.pt"  # in RUN while training; removed once student.npz is written
WEIGHTS, RUN_FACTS = "student.npz", "run.json"  # what RUN holds once trained


def shades_of_gray(x: torch.Tensor, power: float = SHADES_OF_GRAY_POWER) -> torch.Tensor:
    """trainer.models.layers.ShadesOfGray on NCHW 0..255 images."""
    scaled = x / 255.0
    illuminant = (scaled**power).mean((2, 3), keepdim=True) ** (1.0 / power)
    length = illuminant.pow(2).sum(1, keepdim=True).sqrt()
    gain = length / (illuminant * 3.0**0.5 + 1e-6)
    return (x * gain).clamp(0.0, 255.0)


class Student(nn.Module):
    """The Keras student of trainer.models.efficientnet_lite, layer for layer, on NCHW 0..255 75x100 input."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.backbone = EfficientNetLite(weights)
        self.head_dropout = nn.Dropout(DROPOUT)
        self.head_bn = nn.BatchNorm1d(1280, eps=1e-3, momentum=0.01)
        self.head_dense = nn.Linear(1280, HEAD_UNITS)
        self.head_dropout2 = nn.Dropout(DROPOUT)
        self.logits = nn.Linear(HEAD_UNITS, CLASSES)
        self.size = tuple(round(side * UPSAMPLE) for side in INPUT_SIZE)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """The HEAD_UNITS features the classifier reads (before its dropout)."""
        x = F.interpolate(shades_of_gray(x), self.size, mode="bilinear", align_corners=True)
        x = self.backbone.features(((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last))
        return F.relu(self.head_dense(self.head_bn(self.head_dropout(x))))

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        """Logits for :meth:`embedding`'s features."""
        return self.logits(self.head_dropout2(embedding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(x))

    def keras_state(self) -> dict[str, np.ndarray]:
        """Weights under their PyTorch names (backbone ones as in the ImageNet state_dict), classifier excluded."""
        return {
            name.removeprefix("backbone."): value.float().cpu().numpy()
            for name, value in self.state_dict().items()
            if not name.endswith("num_batches_tracked") and not name.startswith("backbone.classifier")
        }


START_FACTS = ("architecture", "held_out_digest")  # what a --start file holds beside the weights


def load_start(model: Student, path: Path, held_out_digest: str) -> None:
    """Load ``trainer teach --student-start``'s file (an exported model's network, its batch norms folded into
    identities) into ``model``; one of another architecture, or built on another split than the pack's
    (``held_out_digest``: it may have trained on the pack's validation or test images), is refused."""
    with np.load(path) as start:
        architecture = json.loads(str(start["architecture"]))
        if architecture != ARCHITECTURE:
            raise SystemExit(f"{path} holds a {architecture} network; this script trains {ARCHITECTURE}")
        if str(start["held_out_digest"]) != held_out_digest:
            raise SystemExit(
                f"{path} was built on another split than the pack's: it may have trained on its held-out images"
            )
        heads = ("head_bn.", "head_dense.", "logits.")
        state = {
            name if name.startswith(heads) else f"backbone.{name}": torch.from_numpy(start[name])
            for name in start.files
            if name not in START_FACTS
        }
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not name.startswith("backbone.classifier") and "num_batches" not in name for name in missing):
        raise SystemExit(f"{path} does not fit the student: missing {missing}, unexpected {unexpected}")


def freeze_batch_norms(model: nn.Module) -> None:
    """Batch norms normalise by their stored statistics (their scale and shift still learn): a start's batch
    norms are identities over folded convolutions, which batch statistics would undo."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.eval()


def blurred(x: torch.Tensor) -> torch.Tensor:
    """Two passes of a 3x3 box filter (about a Gaussian of sigma 1.2 px) over a NCHW batch, edges replicated."""
    for _ in range(2):
        x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return x


def stronger(x: torch.Tensor) -> torch.Tensor:
    """A second colour jitter on top of the first, then a random share (0-1) of :func:`blurred`: a phone's
    white balance, exposure and focus vary more than a dermatoscope's (0..1 NCHW)."""
    x = recolour(x.clamp(0, 1))
    share = torch.rand(x.shape[0], 1, 1, 1, device=x.device)
    return x + share * (blurred(x) - x)


def page_input(images: torch.Tensor, train: bool, strong: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 NHWC 150x200 -> NCHW 0..255 at 75x100 (2x2 area resize, rounded as the page's canvas is),
    augmented at the pack resolution first when training; rows where ``strong`` is true get a wider zoom and
    :func:`stronger`'s extra jitter, drawn after the others' so that those draw what they would without it."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    if train:
        n, aspect_ratio = x.shape[0], x.shape[3] / x.shape[2]
        grid = F.affine_grid(random_affine(n, aspect_ratio, x.device, strong), x.shape, align_corners=False)
        x = recolour(F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False))
        if strong is not None and strong.any():
            x[strong] = stronger(x[strong])
    x = F.adaptive_avg_pool2d(x.clamp(0, 1) * 255.0, INPUT_SIZE)
    return x.round()


@torch.no_grad()
def predict_logits(model: Student, images: torch.Tensor) -> np.ndarray:
    model.eval()
    rows = []
    for start in range(0, len(images), 512):
        with torch.autocast(images.device.type, torch.bfloat16, enabled=images.is_cuda):
            rows.append(model(page_input(images[start : start + 512], train=False)).float())
    return torch.cat(rows).cpu().numpy()


def mixed_up(
    inputs: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018): the batch blended with a shuffled copy of itself by one lambda ~ Beta(alpha,
    alpha), inputs, targets and sample weights alike; unchanged for alpha 0."""
    if alpha <= 0:
        return inputs, targets, weights
    share = torch.distributions.Beta(alpha, alpha).sample().to(inputs.device)
    other = torch.randperm(len(inputs), device=inputs.device)

    def blend(x: torch.Tensor) -> torch.Tensor:
        return share * x + (1 - share) * x[other]

    return blend(inputs), blend(targets), blend(weights)


def soft_targets(labels: np.ndarray, teacher: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Per row, (1 - share) x the true class + share x the teacher's probabilities."""
    share = np.asarray(shares, np.float32)[:, None]
    return (1.0 - share) * np.eye(CLASSES, dtype=np.float32)[labels] + share * teacher.astype(np.float32)


def per_photo_type(domains: np.ndarray, close_up: float, other: float) -> np.ndarray:
    """One value per row: ``close_up`` for a clinical close-up, ``other`` for any other photo."""
    return np.where(domains == CLINICAL, close_up, other).astype(np.float32)


def teacher_rows(teacher_dir: Path, train_ids: np.ndarray) -> np.ndarray:
    """The teacher's probabilities in the pack's training order (every training image must have one)."""
    with np.load(teacher_dir / "teacher_targets.npz") as cache:
        rows = {image_id: row for row, image_id in enumerate(cache["image_ids"].tolist())}
        probabilities = cache["probabilities"]
    missing = [image_id for image_id in train_ids.tolist() if image_id not in rows]
    if missing:
        raise SystemExit(f"the teacher has no soft labels for {len(missing)} training images, e.g. {missing[:3]}")
    return probabilities[[rows[image_id] for image_id in train_ids.tolist()]]


def dermoscopic_partners(groups: np.ndarray, domains: np.ndarray) -> np.ndarray:
    """Per row, the row of its lesion's dermoscopic photo where the row is a clinical close-up that has one, else -1."""
    dermoscopic = {group: row for row, group in enumerate(groups) if domains[row] == DERMOSCOPIC_PAIR}
    return np.array(
        [dermoscopic.get(group, -1) if domain == CLINICAL else -1 for group, domain in zip(groups, domains)], np.int64
    )


def with_paired_clinical_rows(teacher: np.ndarray, partners: np.ndarray) -> np.ndarray:
    """Teacher rows where each clinical close-up's row is the mean of its own and its lesion's dermoscopic photo's
    (``partners``: from :func:`dermoscopic_partners`)."""
    rows = np.flatnonzero(partners >= 0)
    paired = teacher.copy()
    paired[rows] = (teacher[rows] + teacher[partners[rows]]) / 2
    return paired


def alignment_loss(own: torch.Tensor, partners: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance of close-ups' embeddings to their dermoscopic partners' (held fixed: only the
    close-ups move towards them)."""
    return (1.0 - F.cosine_similarity(own.float(), partners.detach().float())).mean()


def partner_alignment(
    model: Student, images: torch.Tensor, partners: np.ndarray, embedding: torch.Tensor
) -> torch.Tensor:
    """``alignment_loss`` of a batch's close-ups that have a dermoscopic partner (``partners``: its row in
    ``images``, or -1), the partners' embeddings computed without gradients; zero when none has one."""
    paired = partners >= 0
    if not paired.any():
        return embedding.new_zeros(())
    with torch.no_grad(), torch.autocast(images.device.type, torch.bfloat16, enabled=images.is_cuda):
        partner_rows = torch.from_numpy(partners[paired]).to(images.device)
        partner_embedding = model.embedding(page_input(images[partner_rows], train=True))
    return alignment_loss(embedding[torch.from_numpy(paired).to(embedding.device)], partner_embedding)


def per_type(model: Student, part: tuple) -> dict[str, dict[str, float]]:
    """Scores of ``model`` on a pack part (images, labels, image types), overall and per image type."""
    images, labels, domains = part
    logits = predict_logits(model, images)
    found = {"all": scores(labels, logits)}
    for domain in np.unique(domains):
        found[str(domain)] = scores(labels[domains == domain], logits[domains == domain])
    return found


def train(
    args, held_out: str, weights, train_part, validation, targets, partners: np.ndarray
) -> tuple[Student, list, int, float]:
    """The student at its best validation epoch, its history, that epoch and the seconds of epochs resumed from
    (a ``--start`` is checked against the pack's ``held_out`` digest; ``partners``: each training row's
    dermoscopic partner for ``--pair-alignment``, or -1)."""
    torch.manual_seed(args.seed if args.init_seed is None else args.init_seed)
    images, labels, domains = train_part
    device = images.device
    model = Student(weights).to(device)
    if args.start is not None:
        load_start(model, args.start, held_out)
    if args.init_seed is not None:
        torch.manual_seed(args.seed)
    class_weight = sqrt_class_weights(labels)
    sample_weight = torch.tensor(class_weight / class_weight[labels].mean(), dtype=torch.float32, device=device)
    image_weight = torch.from_numpy(per_photo_type(domains, args.clinical_weight, 1.0))
    image_weight = image_weight.to(device)
    strong_rows = torch.from_numpy(domains == CLINICAL).to(device) if args.clinical_augmentation == "strong" else None
    target_rows = torch.from_numpy(targets).to(device)
    label_rows = torch.from_numpy(labels).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True) if args.ema else None
    steps = len(labels) // args.batch_size
    best, best_state, best_epoch, history, resumed_seconds = -1.0, None, 0, [], 0.0
    checkpoint = args.out / CHECKPOINT
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        if saved["arguments"] != recipe_arguments(args):
            raise SystemExit(f"{checkpoint} belongs to a run with other arguments: remove it or choose another --out")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if averaged is not None:
            averaged.load_state_dict(saved["averaged"])
        torch.set_rng_state(saved["rng"])
        if saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        best, best_state, best_epoch = saved["best"], saved["best_state"], saved["best_epoch"]
        history = saved["history"]
        resumed_seconds = sum(epoch["seconds"] for epoch in history)
        log(f"resumed from {checkpoint} after epoch {len(history)}")
    for epoch in range(len(history), args.epochs):
        started = time.time()
        model.train()
        if args.start is not None:
            freeze_batch_norms(model)
        order = np.random.default_rng([args.seed, epoch]).permutation(len(labels))
        for step in range(steps):
            set_learning_rate(optimizer, args.lr, epoch * steps + step, steps, args.epochs)
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            rows = torch.from_numpy(batch).to(device)
            inputs, batch_targets, batch_weights = mixed_up(
                page_input(images[rows], train=True, strong=None if strong_rows is None else strong_rows[rows]),
                target_rows[rows],
                sample_weight[label_rows[rows]] * image_weight[rows],
                args.mixup,
            )
            with torch.autocast(device.type, torch.bfloat16, enabled=images.is_cuda):
                embedding = model.embedding(inputs)
                logits = model.classify(embedding).float()
            per_image = -(batch_targets * F.log_softmax(logits, 1)).sum(1)
            loss = (per_image * batch_weights).mean()
            if args.pair_alignment:
                loss = loss + args.pair_alignment * partner_alignment(model, images, partners[batch], embedding)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if averaged is not None:
                averaged.update_parameters(model)
        judged = averaged.module if averaged is not None else model
        epoch_scores = scores(validation[1], predict_logits(judged, validation[0]))
        history.append({"epoch": epoch + 1, "loss": loss.item(), "seconds": time.time() - started, **epoch_scores})
        log(f"epoch {epoch + 1}/{args.epochs}: validation {epoch_scores}")
        if epoch_scores["balanced_accuracy"] > best:
            best, best_epoch = epoch_scores["balanced_accuracy"], epoch + 1
            best_state = {name: value.detach().clone() for name, value in judged.state_dict().items()}
        save_atomically(
            checkpoint,
            {
                "arguments": recipe_arguments(args),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "averaged": averaged.state_dict() if averaged is not None else None,
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                "best": best,
                "best_state": best_state,
                "best_epoch": best_epoch,
                "history": history,
            },
        )
    model.load_state_dict(best_state)
    return model, history, best_epoch, resumed_seconds


def run_arguments(args: argparse.Namespace) -> dict:
    """The command's arguments as run.json records them."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}


def recipe_arguments(args: argparse.Namespace) -> dict:
    """The arguments a checkpoint must share to be resumed: all but where the run is written."""
    return {key: value for key, value in run_arguments(args).items() if key != "out"}


def save_atomically(path: Path, state: dict) -> None:
    """torch.save to a side file, then rename: an interrupted save leaves the previous checkpoint whole."""
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    partial.replace(path)


def teacher_description(teacher_dir: Path | None) -> str | None:
    """What the teacher folder says it is (None without a teacher)."""
    if teacher_dir is None:
        return None
    return json.loads((teacher_dir / "teacher.json").read_text()).get("description", str(teacher_dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, required=True, help="`trainer teach --pack` folder with Lite0 weights")
    parser.add_argument("--teacher", type=Path, help="`trainer teach` folder of the same split (teacher weight > 0)")
    parser.add_argument("--out", type=Path, required=True, help="folder for student.npz and run.json")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--teacher-weight",
        type=float,
        default=0.4,
        help="share of the teacher in each close-up's target (and each dermoscopic photo's, by default)",
    )
    parser.add_argument(
        "--dermoscopic-teacher-weight",
        type=float,
        help="the teacher's share in a dermoscopic photo's target (default: --teacher-weight); with --start, 1 "
        "anchors those photos to the start's own outputs while close-ups learn (learning without forgetting)",
    )
    parser.add_argument(
        "--clinical-teacher",
        choices=("own", "paired-mean"),
        default="own",
        help="a clinical close-up's teacher row: its own, or the mean with its lesion's dermoscopic photo's",
    )
    parser.add_argument(
        "--mixup", type=float, default=0.0, help="mixup's alpha: blend each batch with itself shuffled (0: off)"
    )
    parser.add_argument(
        "--start",
        type=Path,
        help="fine-tune this network (`trainer teach --student-start`'s file) instead of ImageNet weights and a "
        "new head; its batch norms stay frozen",
    )
    parser.add_argument(
        "--clinical-weight", type=float, default=1.0, help="loss weight of a clinical close-up (dermoscopic: 1)"
    )
    parser.add_argument(
        "--clinical-augmentation",
        choices=("standard", "strong"),
        default="standard",
        help=f"strong: close-ups get a wider zoom ({WIDE_SCALE[0]}-{WIDE_SCALE[1]}), a second colour jitter and "
        "random blur on top of the augmentation every photo gets",
    )
    parser.add_argument(
        "--pair-alignment",
        type=float,
        default=0.0,
        help="weight of a loss pulling each close-up's embedding towards its lesion's dermoscopic photo's "
        "(cosine distance; the partner photos run in training mode, so use it with --start's frozen batch norms)",
    )
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="keep an exponential moving average of the weights "
        "with this decay per step (e.g. 0.998), judged and saved instead of the raw weights",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the order, the augmentation and (without --init-seed) the initial head",
    )
    parser.add_argument(
        "--init-seed",
        type=int,
        help="seed of the initial head alone: runs that share it start from the same weights, so "
        "`scripts/average_students.py` can average them (a model soup)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N images of each part (quick checks)")
    args = parser.parse_args(argv)
    if args.dermoscopic_teacher_weight is None:
        args.dermoscopic_teacher_weight = args.teacher_weight
    if args.teacher is None and max(args.teacher_weight, args.dermoscopic_teacher_weight) > 0:
        parser.error("a teacher weight above 0 needs --teacher (or pass --teacher-weight 0)")
    if args.pair_alignment and (args.start is None or args.mixup):
        parser.error("--pair-alignment needs --start (frozen batch norms) and no --mixup (blended photos have no pair)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    pack, weights, packed, parts = load_pack(args.pack, args.limit, device)
    _, train_labels, domains = parts["train"]
    count = len(train_labels)
    teacher = (
        teacher_rows(args.teacher, packed["train_ids"][:count])
        if args.teacher
        else np.zeros((count, CLASSES), np.float32)
    )
    partners = dermoscopic_partners(packed["train_groups"][:count], domains)
    if args.clinical_teacher == "paired-mean":
        teacher = with_paired_clinical_rows(teacher, partners)
    shares = per_photo_type(domains, args.teacher_weight, args.dermoscopic_teacher_weight)
    targets = soft_targets(train_labels, teacher, shares)
    validation = parts["validation"][:2]
    args.out.mkdir(parents=True, exist_ok=True)
    model, history, best_epoch, resumed_seconds = train(
        args, pack["held_out_digest"], weights, parts["train"], validation, targets, partners
    )
    np.savez(args.out / WEIGHTS, **model.keras_state())
    facts = {
        "trained_by": "scripts/gpu_student.py",
        "backbone": pack["backbone"],
        "teacher": teacher_description(args.teacher),
        "architecture": ARCHITECTURE,
        "arguments": run_arguments(args),
        "held_out_digest": pack["held_out_digest"],
        "train_order_digest": pack["train_order_digest"],
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "seconds": resumed_seconds + time.time() - STARTED,
        "best_epoch": best_epoch,
        "train": per_type(model, parts["train"]),
        "validation": per_type(model, parts["validation"]),
        "test": per_type(model, parts["test"]),
        "history": history,
    }
    (args.out / RUN_FACTS).write_text(json.dumps(facts, indent=1) + "\n")
    (args.out / CHECKPOINT).unlink()
    log(f"wrote {args.out}: best epoch {best_epoch}, validation {facts['validation']}")


if __name__ == "__main__":
    main()
