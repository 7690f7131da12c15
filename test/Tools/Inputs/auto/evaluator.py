"""A user's evaluator for `amct auto-calibrate --evaluator`: prints the
top-1 accuracy of the model given on the command line on the saved
samples, through `amct evaluate` (its JSON) and some chatter first.

usage: evaluator.py AMCT MODEL INPUT.npy LABELS.npy [--fail]
"""
import json
import subprocess
import sys

amct, model, inputs, labels = sys.argv[1:5]
if "--fail" in sys.argv:
    print("evaluator: cannot load the model", file=sys.stderr)
    sys.exit(3)
out = subprocess.run([amct, "evaluate", "--model", model, "--input", f"input={inputs}",
                      "--labels", labels], capture_output=True, text=True, check=True).stdout
print("evaluating", model.split("/")[-1])
print(f"top-1 accuracy: {json.loads(out)['top1_accuracy']}")
