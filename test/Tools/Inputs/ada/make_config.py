"""Turns an `amct create-config` JSON config into an ADA one.

usage: make_config.py IN.json OUT.json ITERATIONS [--per-tensor] [--dmq LAYER]
Every Conv / ConvTranspose / Gemm layer gets wts_algo ada_quantize with
num_iteration ITERATIONS; --per-tensor sets channel_wise false everywhere;
--dmq LAYER enables the DMQ balancer on that layer too.
"""
import json
import sys

src, dst, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = json.load(open(src))
for name, layer in config.items():
    if not isinstance(layer, dict) or "weight_quant_params" not in layer:
        continue
    wts = layer["weight_quant_params"]
    if "--per-tensor" in sys.argv:
        wts["channel_wise"] = False
    if "AveragePool" not in name:
        wts["wts_algo"] = "ada_quantize"
        wts["num_iteration"] = iterations
if "--dmq" in sys.argv:
    config[sys.argv[sys.argv.index("--dmq") + 1]]["dmq_balancer_param"] = 0.5
json.dump(config, open(dst, "w"), indent=1)
