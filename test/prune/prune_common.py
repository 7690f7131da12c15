"""What the pruning test scripts share: running a command, and running a
batch of models in ONNX Runtime (test/ort/ort_run.js, the independent
judge)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ORT_RUN = Path(__file__).resolve().parent.parent / "ort" / "ort_run.js"


def run(cmd, tag):
    """Runs `cmd`; exits with its stderr (prefixed by `tag`) on failure."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{tag}: {' '.join(map(str, cmd))} failed:\n{p.stderr}")
    return p.stdout


def ort_first_outputs(jobs, work, tag):
    """ONNX Runtime on `jobs` (ort_run.js's job list): each job's first
    output as float64; exits when a model does not run."""
    (work / "jobs.json").write_text(json.dumps(jobs))
    run(["node", ORT_RUN, work / "jobs.json", work / "results.json"], tag)
    results = json.loads((work / "results.json").read_text())
    outs = []
    for job, result in zip(jobs, results):
        if not result["ok"]:
            sys.exit(f"{tag}: ONNX Runtime cannot run {job['model']}: {result['error']}")
        outs.append(np.load(result["outputs"][0]["file"]).astype(np.float64))
    return outs


# The models of make_prune_models.py, by name.
PRUNE_MODELS = ["residual", "depthwise", "concat", "flatten_linear", "transformer_mlp", "decoder"]


def prune_models(work, tag):
    """The exactness models in `work`/models, made once (torch) if missing."""
    models = Path(work) / "models"
    if not all((models / f"{m}.onnx").exists() for m in PRUNE_MODELS):
        run([sys.executable, Path(__file__).resolve().parent / "make_prune_models.py", models], tag)
    return models


def finish(problems, tag):
    """Prints the failures and the verdict; the exit status."""
    for p in problems:
        print("FAIL:", p)
    print(f"{tag}:", "FAILED" if problems else "passed")
    return 1 if problems else 0
