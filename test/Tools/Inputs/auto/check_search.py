"""Checks an auto-calibration run from its files, without amct's code.

usage: check_search.py PREFIX EVAL_JSON
PREFIX: the --save-path; EVAL_JSON: `amct evaluate` of the final
fake-quant model against the fp32 model. The final config must leave in
float exactly the layers the result names (quant_enable false), the
evaluated cosine must meet the target, and the search must be minimal as
far as it measured: the trial with one float layer fewer than the result
(or the configs without float layers, when the result has one) missed the
target.
"""
import json
import re
import sys

prefix, eval_json = sys.argv[1], sys.argv[2]
log = open(prefix + "_auto_calibration.log").read()
config = json.load(open(prefix + "_quant_config.json"))
result = re.search(r"^result: cosine ([0-9.]+) \(fp32 [0-9.]+, target ([0-9.]+)\); repairs kept: "
                   r"(.*); layers in float: (.*)$", log, re.M)
assert result, log
target = float(result.group(2))
floating = [] if result.group(4) == "none" else result.group(4).split(", ")
disabled = sorted(k for k, v in config.items() if isinstance(v, dict) and not v["quant_enable"])
assert disabled == sorted(floating), (disabled, floating)
cosine = json.load(open(eval_json))["mean_cosine"]
assert cosine >= target - 1e-6, (cosine, target)
k = len(floating)
trials = re.findall(r"^trial \d+: (.*): cosine ([0-9.]+) \(target", log, re.M)
if k == 1:
    fewer = [float(m) for change, m in trials if "in float" not in change]
else:
    fewer = [float(m) for change, m in trials if change.startswith(f"{k - 1} most sensitive")]
assert fewer and max(fewer) < target, (k, fewer, target)
print(f"{k} layers in float, cosine {cosine:.6f} >= target {target:.6f}; "
      f"{'no' if k == 1 else k - 1} float layers missed it")
