# An independent PyTorch scorer of lm-eval loglikelihood requests, written from EVAL.md (not from
# the engine): for token ids produced by the TypeScript tokenization (Python tokenizers are not
# installable here), input = (context + continuation)[-(max_length+1):][:-1], log_softmax in
# float64 over the vocabulary, sum_logprob = sum over the continuation tokens, is_greedy = every
# continuation token is the argmax; then the per-document metrics of both profiles. The model
# forward is llama_ref.py's (float64).
# Usage: /usr/bin/python3 test/reference/eval_ref.py [--write | --check]   (default --check)
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import forward, load_checkpoint  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "eval_tiny_llama")
ROOT = os.path.dirname(os.path.dirname(HERE))


def score(cfg, params, context, continuation):
    """(sum_logprob, is_greedy, min margin between the top two logits at the continuation positions, tokens dropped)."""
    max_length = cfg["max_position_embeddings"]
    whole = context + continuation
    kept = whole[-(max_length + 1):]
    inp = kept[:-1]
    tokens = torch.tensor([inp], dtype=torch.long)
    logits = forward(cfg, params, tokens, torch.tensor([len(inp)]))[0]  # (T, V)
    n = len(continuation)
    rows = logits[-n:]
    logp = torch.log_softmax(rows, dim=-1)
    targets = torch.tensor(continuation, dtype=torch.long)
    total = float(logp.gather(-1, targets[:, None]).sum())
    greedy = bool((rows.argmax(dim=-1) == targets).all())
    top2 = rows.topk(2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    return total, greedy, margin, len(whole) - len(kept)


def first_argmax(values):
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def doc_metric(metric, profile, lls, greedy, gold, labels):
    if metric == "acc":
        return 1.0 if first_argmax(lls) == gold else 0.0
    if metric == "greedy_acc":
        return 1.0 if all(greedy) else 0.0
    if metric == "pair_acc":  # BLiMP: choice 0 good, 1 bad
        if profile == "article":
            return 1.0 if lls[0] > lls[1] else 0.0
        return 1.0 if first_argmax(lls) == 0 else 0.0
    if metric == "mc2":
        m = max(lls)
        p = [math.exp(x - m) for x in lls]
        z = sum(p)
        if profile == "article":
            split = labels.index(0) if 0 in labels else len(labels)
            true = [i < split for i in range(len(labels))]
        else:
            true = [lab == 1 for lab in labels]
        return sum(pi for pi, t in zip(p, true) if t) / z
    raise ValueError(metric)


def compute():
    with open(os.path.join(FIXTURE, "requests.json")) as f:
        spec = json.load(f)
    cfg, weights = load_checkpoint(os.path.join(ROOT, spec["model"]))
    params = {k: v.to(torch.float64) for k, v in weights.items()}
    memo = {}
    out = []
    for case in spec["cases"]:
        results = []
        for doc in case["docs"]:
            scored = []
            for r in doc["requests"]:
                key = (tuple(r["context"]), tuple(r["continuation"]))
                if key not in memo:
                    memo[key] = score(cfg, params, r["context"], r["continuation"])
                scored.append(memo[key])
            lls = [s[0] for s in scored]
            greedy = [s[1] for s in scored]
            metric = doc_metric(case["metric"], case["profile"], lls, greedy, doc["gold"], doc.get("labels"))
            results.append({"sum_logprob": lls, "is_greedy": greedy, "margin": min(s[2] for s in scored), "dropped": max(s[3] for s in scored), "metric": metric})
        out.append({"profile": case["profile"], "task": case["task"], "num_fewshot": case["numFewshot"], "docs": results})
    return {"cases": out}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "--check"
    golden = compute()
    path = os.path.join(FIXTURE, "golden.json")
    if mode == "--write":
        with open(path, "w") as f:
            json.dump(golden, f)
            f.write("\n")
        n = sum(len(d["sum_logprob"]) for c in golden["cases"] for d in c["docs"])
        print("wrote %s: %d cases, %d requests" % (path, len(golden["cases"]), n))
        return 0
    with open(path) as f:
        stored = json.load(f)
    worst = 0.0
    for a, b in zip(golden["cases"], stored["cases"]):
        for da, db in zip(a["docs"], b["docs"]):
            for x, y in zip(da["sum_logprob"], db["sum_logprob"]):
                worst = max(worst, abs(x - y) / max(1e-9, abs(y)))
            if da["is_greedy"] != db["is_greedy"] or abs(da["metric"] - db["metric"]) > 1e-12:
                print("mismatch in", a["task"], a["profile"])
                return 1
    print("golden.json reproduced, worst relative difference %.2e" % worst)
    return 0 if worst < 1e-9 and len(golden["cases"]) == len(stored["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
