"""Where training runs: one device, all local devices (mirrored), or several machines (multi-worker).

``trainer build --distribute`` picks a ``tf.distribute`` strategy; the model is built and fitted inside
its scope. Multi-worker runs are configured by the standard ``TF_CONFIG`` environment variable.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.keras_backend import tf

DISTRIBUTE_MODES = ("none", "mirrored", "multi-worker")


class DistributeError(ValueError):
    """A distribution setting that cannot work; the message says which and why."""


@dataclass(frozen=True)
class Scaling:
    """How a recipe's per-replica batch and learning rate grow with the number of replicas."""

    replicas: int
    per_replica_batch: int
    global_batch: int
    base_learning_rate: float
    learning_rate: float

    def describe(self) -> str:
        """One log line with the numbers."""
        return (
            f"{self.replicas} replica(s): global batch {self.global_batch} ({self.per_replica_batch} per replica), "
            f"learning rate {self.base_learning_rate:g} x {self.replicas} = {self.learning_rate:g} (linear scaling)"
        )


def scaling(replicas: int, per_replica_batch: int, learning_rate: float) -> Scaling:
    """Global batch = per-replica batch x replicas; learning rate scaled by the same factor (linear rule)."""
    return Scaling(replicas, per_replica_batch, per_replica_batch * replicas, learning_rate, learning_rate * replicas)


@functools.cache
def strategy_for(mode: str, cpu_replicas: int | None = None) -> tf.distribute.Strategy:
    """The strategy of ``--distribute mode``; call it before TensorFlow runs anything else.

    ``cpu_replicas`` splits the CPU into that many logical devices for ``mirrored`` (a way to run
    mirrored training without accelerators, as the tests do); otherwise mirrored uses every local GPU.
    """
    from trainer.keras_backend import tf

    if mode not in DISTRIBUTE_MODES:
        raise DistributeError(f"unknown --distribute {mode!r}; choose from {list(DISTRIBUTE_MODES)}")
    if cpu_replicas is not None and mode != "mirrored":
        raise DistributeError(f"--cpu-replicas needs --distribute mirrored, not {mode!r}")
    if mode == "none":
        return tf.distribute.get_strategy()
    if mode == "mirrored":
        return tf.distribute.MirroredStrategy(_mirrored_devices(cpu_replicas))
    check_tf_config(os.environ.get("TF_CONFIG"))
    return tf.distribute.MultiWorkerMirroredStrategy()


def _mirrored_devices(cpu_replicas: int | None) -> list[str] | None:
    """Logical CPU devices when asked for, else None (MirroredStrategy's default: all GPUs, or the CPU)."""
    from trainer.keras_backend import tf

    if cpu_replicas is None:
        return None
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)
    except RuntimeError as err:
        raise DistributeError(f"cannot split the CPU into {cpu_replicas} devices: {err}") from err
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def check_tf_config(text: str | None) -> dict:
    """Parse ``TF_CONFIG`` and check that it names a cluster and this process's task in it."""
    if not text:
        raise DistributeError(
            "--distribute multi-worker needs TF_CONFIG, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise DistributeError(f"TF_CONFIG is not valid JSON: {err}") from err
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    addresses = cluster.get(task.get("type"), [])
    if not isinstance(task.get("index"), int) or not 0 <= task["index"] < len(addresses):
        raise DistributeError(
            f"TF_CONFIG task {task} is not in its cluster {cluster}: "
            "task.type must be a cluster job (chief or worker) and task.index a position in its address list"
        )
    return config


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes files: always, except on multi-worker non-chief workers."""
    return strategy.extended.should_checkpoint


def describe(strategy: tf.distribute.Strategy) -> dict:
    """The ``--distribute`` mode, strategy, replica count and (multi-worker) this process's task, for metrics."""
    from trainer.keras_backend import tf

    mode = "none"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        mode = "multi-worker"
    elif isinstance(strategy, tf.distribute.MirroredStrategy):
        mode = "mirrored"
    facts = {"mode": mode, "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.task_type:
        jobs = resolver.cluster_spec().as_dict()
        facts["workers"] = len(jobs.get("chief", [])) + len(jobs.get("worker", []))
        facts["task"] = f"{resolver.task_type}:{resolver.task_id}"
    return facts
