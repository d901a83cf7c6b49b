"""Where each epoch's figures go: one log line, metrics.jsonl and TensorBoard."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.files import json_number
from rnn_rbm.outputs import plots

log = logging.getLogger("rnn_rbm.engine.trainer")

# Figures of the record shown in TensorBoard (validation figures are added as they come).
_SCALARS = ("cost", "grad_norm", "learning_rate", "frames_per_s", "seconds", "seconds_validating")


class MetricsLog:
    """Writes epoch records of one run to checkpoint_dir/metrics.jsonl (one JSON object per
    line, with the run's start time as `run` to tell runs apart) and to TensorBoard under
    checkpoint_dir/logs/<run>."""

    def __init__(self, checkpoint_dir: Path):
        self.dir = checkpoint_dir
        self.run = time.strftime("%Y-%m-%d_%H%M%S")
        self.writer = tf.summary.create_file_writer(str(checkpoint_dir / "logs" / self.run))

    def write(self, record: dict, num_epochs: int) -> None:
        """Logs `record` (one epoch's figures); fills in its `run`."""
        record["run"] = self.run
        timing = f"train {record['seconds']:.1f} s ({record['frames_per_s']:.0f} frames/s)"
        if "seconds_validating" in record:
            timing += f", validation {record['seconds_validating']:.1f} s"
        parts = [f"epoch {record['epoch']}/{num_epochs}", f"cost {record['cost']:.4f}", _validation_text(record),
                 timing]
        log.info("  ".join(part for part in parts if part))
        # JSON has no NaN: a missing figure is written as null.
        finite = {k: (json_number(v) if isinstance(v, float) else v) for k, v in record.items()}
        with open(self.dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(finite) + "\n")
        with self.writer.as_default(step=record["epoch"]):
            for key, value in finite.items():
                if (key in _SCALARS or key.startswith("valid")) and isinstance(value, float):
                    tf.summary.scalar(key, value)
        self.writer.flush()

    def image(self, name: str, image: np.ndarray, epoch: int) -> None:
        """Shows `image`, uint8 (1, height, width, 3), in TensorBoard at step `epoch`."""
        with self.writer.as_default(step=epoch):
            tf.summary.image(name, image)
        self.writer.flush()

    def close(self) -> Path | None:
        """Ends the run's log and draws every run's curves so far in curves.png.

        Returns: the PNG's path; None where no epoch was ever logged (a run that diverged in
        its first epoch), which leaves nothing to draw.
        """
        self.writer.close()
        if not (self.dir / "metrics.jsonl").exists():
            return None
        return plots.training_curves_png(plots.read_metrics(self.dir / "metrics.jsonl"),
                                         self.dir / "curves.png")


def _validation_text(record: dict) -> str:
    figures = {k: v for k, v in record.items() if k.startswith("valid")}
    if not figures:
        return ""
    parts = []
    for key, value in figures.items():
        if value is None or not math.isfinite(value):
            parts.append(f"{key} -")
        elif "_acc" in key:
            parts.append(f"{key} {100 * value:.2f}%")
        else:
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts) + ("  (best)" if record.get("best") else "")
