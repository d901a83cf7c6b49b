"""How fast this machine trains and generates with the paper-size model (88-150-100, CD-15).

    python benchmarks/throughput.py [--parts prep,train,bare,generate,memory] [--runs 5] [--repeats 3]
                                    [--steps_per_quarter 4] [--strategy none|mirrored]

Each of `--runs` runs is a fresh process measuring every part; each figure printed is the
median over the runs with its range (min - max), and the load average before and after.

Parts (all by default):
- prep: converts the Bach default into an empty cache folder (prep_first_s), then
  loads it again from that cache (prep_cached_s).
- train: the training step on the Bach default's training pieces, batched as in
  training (`data.batches`, 16 pieces a batch). One epoch first (tracing and
  compiling), then `--repeats` epochs: train_frames_per_s counts the steps only
  (batches built beforehand), bach16_epoch_s the whole epoch as train() runs it
  (building batches, the step, reading back the cost), median of the repeats.
- bare: a bare CD-15 sampling loop over the same number of frames, in chunks of
  the mean batch's frame count: 15 x (matmul, sigmoid, Bernoulli draw by uniform
  < p from a tf.random.Generator, matmul, sigmoid, Bernoulli draw), nothing else.
  The yardstick training should reach although it does more.
- generate: new frames per second, 25 Gibbs steps each, of one sample and of 16
  drawn at once (512 frames each), after a first call that traces and compiles
  (its wall time is printed too: what one rnn_rbm_generate.py call pays once).
- memory: peak resident memory of `rnn_rbm_train.py 2` on the same data, run as a
  child process (getrusage of the children).

Prints each run's figures, then the summary, then one JSON line with every figure's
median, min and max, the machine and the settings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet, records  # noqa: E402
from rnn_rbm.cli import SAMPLER_THREADS  # noqa: E402

PARTS = ("prep", "train", "bare", "generate", "memory")
GENERATE_STEPS = 512
GENERATE_BATCH = 16
MEMORY_EPOCHS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)} (default all)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes, each measuring every part; "
                        "figures are their median and range (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs / generation calls within "
                        "one run (default 3)")
    parser.add_argument("--steps_per_quarter", type=int, default=4, help="frames per quarter (default 4)")
    parser.add_argument("--strategy", default="none", help="tf.distribute strategy of the train step: "
                        "none, mirrored or multiworker (default none)")
    parser.add_argument("--one_run", action="store_true", help=argparse.SUPPRESS)  # a child's own run
    quiet.add_verbose_flag(parser)
    records.add_record_flag(parser, "throughput")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    if args.one_run:
        _one_run(args, parts)
        return
    record = records.Record()
    # Each run in a fresh process: what differs between processes (thread start-up, memory
    # layout, compilation) shows in the spread, as a user's next command would meet it.
    load_start = os.getloadavg()[0]
    runs = []
    # Generation is measured in a process of its own, with the threads rnn_rbm_generate.py uses.
    groups = [([p for p in parts if p != "generate"], {}),
              (["generate"] if "generate" in parts else [], {"TF_NUM_INTRAOP_THREADS": str(SAMPLER_THREADS)})]
    for index in range(args.runs):
        merged = {"figures": {}}
        for group, env in groups:
            if not group:
                continue
            command = [sys.executable, __file__, "--one_run", *sys.argv[1:], "--parts", ",".join(group)]
            result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
            if result.returncode != 0:
                sys.exit(f"error: run {index + 1} failed:\n{result.stderr}")
            run = json.loads(result.stdout.strip().splitlines()[-1])
            merged = {**run, "figures": {**merged["figures"], **run["figures"]}}
        runs.append(merged)
        print(f"run {index + 1}/{args.runs}: " + ", ".join(f"{k} {v:,.2f}" for k, v in runs[-1]["figures"].items()),
              flush=True)
    machine = {**runs[0]["machine"], "load_average_start": round(load_start, 2),
               "load_average_end": round(os.getloadavg()[0], 2)}
    settings = {**runs[0]["settings"], "runs": args.runs}
    print("machine:", ", ".join(f"{k} {v}" for k, v in machine.items()))
    print("settings:", ", ".join(f"{k} {v}" for k, v in settings.items()))
    print(f"\n  {'figure':34s} {'median':>12s}  {'min':>10s} - {'max':<10s}")
    summary = {}
    for key in runs[0]["figures"]:
        values = [run["figures"][key] for run in runs]
        summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        print(f"  {key:34s} {summary[key]['median']:12,.2f}  {min(values):10,.2f} - {max(values):<10,.2f}")
    print(json.dumps({"figures": summary, "machine": machine, "settings": settings}))
    record.settings, record.results = settings, {"figures": summary, "runs": runs}
    print(f"record {records.save(args.record, 'throughput', record)}", file=sys.stderr)


def _one_run(args: argparse.Namespace, parts: list[str]) -> None:
    """Measures every part once in this process; prints the figures as one JSON line."""
    quiet.setup(verbose=args.verbose)
    import tensorflow as tf

    from rnn_rbm.config import RunConfig, replace_section

    config = replace_section(RunConfig(), "data", steps_per_quarter=args.steps_per_quarter)
    machine = _machine(tf)
    settings = {"model": f"{config.data.num_pitches}-{config.model.n_hidden}-{config.model.n_recurrent}",
                "cd_k": config.train.cd_k, "batch_size": config.train.batch_size,
                "negative_start": config.train.negative_start, "steps_per_quarter": args.steps_per_quarter,
                "generate_gibbs_steps": 25, "repeats": args.repeats, "strategy": args.strategy}
    figures: dict[str, float] = {}
    with contextlib.redirect_stdout(sys.stderr):  # the parts' own lines; stdout carries the JSON
        with tempfile.TemporaryDirectory() as scratch:
            cache = Path(scratch) / "cache"
            if "prep" in parts:
                figures.update(_prep(config.data, cache))
            dataset = _load(config.data, cache)
            if "train" in parts:
                figures.update(_train(tf, config, dataset, args.repeats, args.strategy))
            if "bare" in parts:
                figures.update(_bare(tf, config, dataset, args.repeats))
            if "generate" in parts:
                figures.update(_generate(tf, config, args.repeats))
            if "memory" in parts:
                figures.update(_memory(config.data, cache, Path(scratch)))
    print(json.dumps({"figures": figures, "machine": machine, "settings": settings}))


def _machine(tf) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    devices = [d.device_type + (f" {d.name}" if d.device_type != "CPU" else "")
               for d in tf.config.list_physical_devices()]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores,
            "tensorflow": tf.__version__, "devices": " + ".join(devices), "python": platform.python_version(),
            "load_average_start": round(os.getloadavg()[0], 2)}


def _cpu_seconds() -> float:
    """CPU time of this process (all threads): less disturbed than wall time by other
    programs sharing the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _prep(data_config, cache: Path) -> dict:
    from rnn_rbm.data.dataset import load_dataset

    started = time.perf_counter()
    load_dataset("bach", data_config, cache_dir=cache, progress=False)
    first = time.perf_counter() - started
    started = time.perf_counter()
    load_dataset("bach", data_config, cache_dir=cache, progress=False)
    cached = time.perf_counter() - started
    print(f"prep: Bach converted in {first:.1f} s, loaded from the cache in {cached:.2f} s")
    return {"prep_first_s": first, "prep_cached_s": cached}


def _load(data_config, cache: Path):
    """The Bach default: from `cache` when prep made it, else from the user's cache."""
    from rnn_rbm.data.dataset import load_dataset

    return load_dataset("bach", data_config, cache_dir=cache if cache.exists() else None, progress=False)


def _batch_frames(dataset, config) -> list[float]:
    return [float(mask.sum()) for _, mask in _epoch_batches(dataset, config, 0)]


def _epoch_batches(dataset, config, seed: int) -> list:
    import numpy as np

    from rnn_rbm.data.dataset import batches

    return list(batches(dataset.train, config.train.batch_size, np.random.default_rng(seed)))


def _new_state(tf, config):
    from rnn_rbm.engine.trainer import TrainState

    return TrainState.create(config)


def _train(tf, config, dataset, repeats: int, strategy_name: str) -> dict:
    import numpy as np

    from rnn_rbm.data.dataset import batches
    from rnn_rbm.engine.trainer import make_train_step

    state = _new_state(tf, config)
    if strategy_name != "none":
        from rnn_rbm.engine import distribute

        state = distribute.replicate(state, config, distribute.make_strategy(strategy_name))
    step = make_train_step(state, config)
    frames = sum(map(len, dataset.train))
    np_rng = np.random.default_rng(0)

    def epoch(prebuilt: list | None = None) -> tuple[float, float]:
        started, cpu = time.perf_counter(), _cpu_seconds()
        if prebuilt is None:
            prebuilt = batches(dataset.train, config.train.batch_size, np_rng)
        for v, mask in prebuilt:
            cost, _ = step(v, mask)
            float(cost)  # as train() does: reads every batch's cost back
        return time.perf_counter() - started, _cpu_seconds() - cpu

    first, _ = epoch()
    whole = [epoch()[0] for _ in range(repeats)]
    prebuilt = [_epoch_batches(dataset, config, seed) for seed in range(repeats)]
    steps_only, cpu = zip(*(epoch(batches_) for batches_ in prebuilt))
    per_s = frames / statistics.median(steps_only)
    cpu_us = 1e6 * statistics.median(cpu) / frames
    print(f"train: {len(dataset.train)} pieces, {frames} frames; first epoch {first:.2f} s (tracing), "
          f"then {', '.join(f'{s:.2f}' for s in whole)} s per epoch; steps only "
          f"{', '.join(f'{s:.2f}' for s in steps_only)} s = {per_s:,.0f} frames/s; CPU {cpu_us:.1f} us/frame")
    return {"train_frames_per_s": per_s, "bach16_epoch_s": statistics.median(whole),
            "bach16_first_epoch_s": first, "train_cpu_us_per_frame": cpu_us}


def _bare(tf, config, dataset, repeats: int) -> dict:
    """A bare CD-15 chain, written the plain way (sigmoid, then uniform < p)."""
    V, H, k = config.data.num_pitches, config.model.n_hidden, config.train.cd_k
    sizes = _batch_frames(dataset, config)
    chunk = round(statistics.mean(sizes))
    calls = len(sizes)
    rng = tf.random.Generator.from_seed(0)
    W = tf.Variable(rng.normal([V, H], stddev=config.model.init_std))
    bv, bh = tf.Variable(tf.zeros([V])), tf.Variable(tf.zeros([H]))

    @tf.function
    def chain(v):
        for _ in range(k):
            p_h = tf.sigmoid(tf.matmul(v, W) + bh)
            h = tf.cast(rng.uniform([chunk, H]) < p_h, tf.float32)
            p_v = tf.sigmoid(tf.matmul(h, W, transpose_b=True) + bv)
            v = tf.cast(rng.uniform([chunk, V]) < p_v, tf.float32)
        return v

    start = tf.zeros([chunk, V])
    chain(start).numpy()
    times, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        for _ in range(calls):
            chain(start).numpy()
        times.append(time.perf_counter() - started)
        cpu.append(_cpu_seconds() - cpu_started)
    per_s = chunk * calls / statistics.median(times)
    cpu_us = 1e6 * statistics.median(cpu) / (chunk * calls)
    print(f"bare CD-{k}: {calls} chunks of {chunk} frames, {', '.join(f'{s:.2f}' for s in times)} s "
          f"= {per_s:,.0f} frames/s; CPU {cpu_us:.1f} us/frame")
    return {"bare_cd15_frames_per_s": per_s, "bare_cd15_cpu_us_per_frame": cpu_us}


def _generate(tf, config, repeats: int) -> dict:
    from rnn_rbm.config import GenerateConfig
    from rnn_rbm.engine.sampling import generate

    model = _new_state(tf, config).model
    figures = {}
    for count, key in ((1, "single"), (GENERATE_BATCH, f"batch{GENERATE_BATCH}")):
        settings = GenerateConfig(num_samples=count, num_steps=GENERATE_STEPS, gibbs_steps=25)
        rng = tf.random.Generator.from_seed(1)
        started = time.perf_counter()
        generate(model, settings, rng)
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            generate(model, settings, rng)
            times.append(time.perf_counter() - started)
        per_s = count * GENERATE_STEPS / statistics.median(times)
        print(f"generate {count} x {GENERATE_STEPS} frames: first call {first:.2f} s, then "
              f"{', '.join(f'{s:.2f}' for s in times)} s = {per_s:,.0f} frames/s")
        figures[f"generate_frames_per_s_{key}"] = per_s
        figures[f"generate_first_call_s_{key}"] = first
    return figures


def _memory(data_config, cache: Path, scratch: Path) -> dict:
    """Peak RSS of a real training run (the CLI), in a child process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if cache.exists():
        env["RNN_RBM_CACHE"] = str(cache)
    out = scratch / "memory_run"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, str(ROOT / "rnn_rbm_train.py"), str(MEMORY_EPOCHS), "--quiet",
               "--steps_per_quarter", str(data_config.steps_per_quarter), "--checkpoint_dir", str(out)]
    # A fresh parent whose only child is the run: this process's own children (conversion
    # workers) would otherwise count in RUSAGE_CHILDREN's maximum.
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", probe, *command], env=env, check=True,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_mb = int(result.stdout.split()[-1]) / 1024  # Linux reports kilobytes
    print(f"memory: rnn_rbm_train.py {MEMORY_EPOCHS} ran {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
    return {"peak_rss_mb": peak_mb, "memory_run_s": seconds}


if __name__ == "__main__":
    main()
