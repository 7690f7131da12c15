"""The amct_mlir Python module against the amct command-line tool.

Every job run from Python must give byte for byte the files the CLI gives on
the same inputs; failures must raise with the CLI's message and write
nothing; Python algorithms must match their C++ plugin twins exactly; the
fake-quant model must run in ONNX Runtime as the executor runs it.

Run by ctest (`python-api`): PYTHONPATH=build/python, AMCT_BUILD_DIR=build.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import amct_mlir as amct

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("AMCT_BUILD_DIR", ROOT / "build"))
AMCT = BUILD / "bin" / "amct"
PLUGIN = BUILD / "test" / "plugins" / "shrink_rtn.so"
MODELS = ROOT / "test" / "models"
LLM_INPUTS = ROOT / "test" / "Tools" / "Inputs"


def cli(*args, ok=True):
    """Runs `amct ARGS`; returns the completed process."""
    p = subprocess.run([str(AMCT), *map(str, args)], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"amct {' '.join(map(str, args))} failed:\n{p.stderr}")
    return p


def cli_error(*args):
    """The message of a failing CLI run, without the `amct <cmd>: error: ` prefix."""
    p = cli(*args, ok=False)
    assert p.returncode == 1, p.stderr
    line = p.stderr.strip().splitlines()[0]
    return line.split(": error: ", 1)[1]


def same_bytes(a, b):
    return Path(a).read_bytes() == Path(b).read_bytes()


def calib(model):
    return np.load(MODELS / f"{model}.inputs" / "input.npy")


@pytest.fixture(scope="session")
def llm(tmp_path_factory):
    """The one-block Llama-shaped model of the LLM lit tests."""
    out = tmp_path_factory.mktemp("llm")
    subprocess.run([sys.executable, str(LLM_INPUTS / "llm_block.py"), str(out)], check=True,
                   capture_output=True)
    return out


def test_issue_example_runs_as_written(tmp_path):
    """AMCT's ONNX call sequence, as README shows it."""
    os.chdir(tmp_path)
    np.save("calib.npy", calib("cnn_bn"))
    model = str(MODELS / "cnn_bn.onnx")
    amct.create_quant_config("q.json", model, skip_layers=None, batch_num=1,
                             activation_offset=True)
    amct.quantize_model("q.json", model, "modified.onnx", "record.txt",
                        input_data={"input": np.load("calib.npy")})
    amct.save_model("modified.onnx", "record.txt", "out/model")
    # The fake-quant model is standard ONNX (the deploy model has Ascend ops).
    onnx.checker.check_model(onnx.load("out/model_fake_quant_model.onnx"))
    ops = {n.op_type for n in onnx.load("out/model_deploy_model.onnx").graph.node}
    assert {"AscendQuant", "AscendDequant"} <= ops


@pytest.mark.parametrize("model", ["cnn_bn", "transformer", "cnn_dw"])
def test_ptq_files_identical_to_cli(tmp_path, model):
    path = MODELS / f"{model}.onnx"
    data = calib(model)
    np.save(tmp_path / "calib.npy", data)
    # create_quant_config == amct create-config
    info = amct.create_quant_config(tmp_path / "py.json", path, batch_num=2,
                                    activation_offset=False)
    cli("create-config", "--model", path, "-o", tmp_path / "cli.json", "--batch-num", 2,
        "--activation-offset=false")
    assert same_bytes(tmp_path / "py.json", tmp_path / "cli.json")
    layers = [k for k, v in json.load(open(tmp_path / "py.json")).items() if isinstance(v, dict)]
    assert info["layers"] and sorted(info["layers"]) == sorted(layers)

    # quantize_model + save_model == amct quantize --modified-model + amct convert
    report = amct.quantize_model(tmp_path / "py.json", path, tmp_path / "py_mod.onnx",
                                 tmp_path / "py_rec.txt", input_data={"input": data})
    cli("quantize", "--model", path, "--config", tmp_path / "cli.json", "--calib-data",
        f"input={tmp_path / 'calib.npy'}", "--save-path", tmp_path / "cli",
        "--modified-model", tmp_path / "cli_mod.onnx")
    assert same_bytes(tmp_path / "py_mod.onnx", tmp_path / "cli_mod.onnx")
    assert same_bytes(tmp_path / "py_rec.txt", tmp_path / "cli_record.txt")
    amct.save_model(tmp_path / "py_mod.onnx", tmp_path / "py_rec.txt", tmp_path / "py")
    cli("convert", "--model", tmp_path / "cli_mod.onnx", "--record", tmp_path / "cli_record.txt",
        "--save-path", tmp_path / "conv")
    for kind in ["fake_quant", "deploy"]:
        assert same_bytes(tmp_path / f"py_{kind}_model.onnx", tmp_path / f"conv_{kind}_model.onnx")
    # The fake-quant model from the record is the one quantize made.
    assert same_bytes(tmp_path / "py_fake_quant_model.onnx", tmp_path / "cli_fake_quant_model.onnx")

    # The report has the summary's numbers.
    assert report["quantized"] and all(0.9 < r["cosine"] <= 1.0 + 1e-9 for r in report["quantized"])
    record = (tmp_path / "py_rec.txt").read_text()
    for row in report["quantized"]:
        if row["scale_d"] is not None:
            assert f'key: "{row["name"]}"' in record
            assert np.float32(row["scale_d"]) > 0


def test_quantize_and_model_proto(tmp_path):
    """quantize() == amct quantize; a ModelProto is the same model as its file."""
    path = MODELS / "mlp.onnx"
    data = calib("mlp")
    np.save(tmp_path / "calib.npy", data)
    report = amct.quantize(onnx.load(path), input_data=data, save_path=tmp_path / "py" / "m")
    cli("quantize", "--model", path, "--calib-data", tmp_path / "calib.npy", "--save-path",
        tmp_path / "cli" / "m")
    for f in ["m_fake_quant_model.onnx", "m_deploy_model.onnx", "m_record.txt"]:
        assert same_bytes(tmp_path / "py" / f, tmp_path / "cli" / f), f
    assert set(report["files"]) == {"fake_quant_model", "deploy_model", "record"}
    assert list(report["output_cosine"]) == [o.name for o in onnx.load(path).graph.output]


def test_run_model_matches_cli_and_ort(tmp_path):
    """run_model == amct run; the fake-quant model in ONNX Runtime agrees."""
    path = MODELS / "cnn_bn.onnx"
    data = calib("cnn_bn")[:4]
    report = amct.quantize(path, input_data={"input": calib("cnn_bn")}, save_path=tmp_path / "q")
    fake = tmp_path / "q_fake_quant_model.onnx"
    ours = amct.run_model(fake, {"input": data})
    np.save(tmp_path / "x.npy", data)
    cli("run", "--model", fake, "--input", f"input={tmp_path / 'x.npy'}", "--output-dir",
        tmp_path / "run")
    for name, value in ours.items():
        assert np.array_equal(value, np.load(tmp_path / "run" / f"{name}.npy"))
    # ONNX Runtime, the independent judge, on the QDQ graph as written (no
    # int8 fusion): the same integers; float summation order may move a
    # value across one rounding boundary of the last layer's quantizer.
    jobs = [{"model": str(fake), "inputs": {"input": str(tmp_path / "x.npy")},
             "outDir": str(tmp_path / "ort"), "opt": "disabled"}]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run(["node", str(ROOT / "test" / "ort" / "ort_run.js"), str(tmp_path / "jobs.json"),
                    str(tmp_path / "results.json")], check=True, capture_output=True)
    result = json.loads((tmp_path / "results.json").read_text())[0]
    assert result["ok"], result["error"]
    step = report["quantized"][-1]["scale_d"]
    for out in result["outputs"]:
        ort = np.load(out["file"])
        d = np.abs(ours[out["name"]] - ort)
        assert d.max() <= step and np.median(d) <= 1e-6 * np.abs(ort).max(), (d.max(), step)


def test_non_contiguous_input_is_the_same_data(tmp_path):
    data = calib("cnn_bn")
    strided = np.asfortranarray(data)
    a = amct.run_model(MODELS / "cnn_bn.onnx", {"input": data[:3]})
    b = amct.run_model(MODELS / "cnn_bn.onnx", {"input": strided[:3]})
    for k in a:
        assert np.array_equal(a[k], b[k])


def test_llm_quantize_and_convert_identical_to_cli(tmp_path, llm):
    config = {"batch_num": 2, "quant_cfg": {"weights": {"type": "int4", "strategy": "group",
                                                        "group_size": 32}},
              "algorithm": {"gptq": {}}, "skip_layers": ["lm_head"]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    tokens = np.load(llm / "tokens.npy")
    report = amct.quantize(llm / "model.onnx", config, {"tokens": tokens}, tmp_path / "py")
    cli("quantize", "--model", llm / "model.onnx", "--config", tmp_path / "c.json",
        "--calib-data", f"tokens={llm / 'tokens.npy'}", "--save-path", tmp_path / "cli")
    for f in ["_fake_quant_model.onnx", "_deploy_model.onnx", "_record.txt"]:
        assert same_bytes(tmp_path / f"py{f}", tmp_path / f"cli{f}"), f
    methods = {r["name"]: r["method"] for r in report["quantized"]}
    assert any("gptq int4 group 32" in m for m in methods.values()), methods
    # GPTQ trades weight error (~0.2 at int4) for output error.
    assert all(0 < r["weight_error"] < 0.3 and r["cosine"] > 0.99 for r in report["quantized"])
    # convert from a minmax record rebuilds the same models (GPTQ's integers
    # are in no record, so minmax here).
    minmax = dict(config, algorithm="minmax")
    amct.quantize(llm / "model.onnx", minmax, {"tokens": tokens}, tmp_path / "mm")
    amct.convert(llm / "model.onnx", tmp_path / "mm_record.txt", tmp_path / "conv", config=minmax)
    for f in ["_fake_quant_model.onnx", "_deploy_model.onnx"]:
        assert same_bytes(tmp_path / f"mm{f}", tmp_path / f"conv{f}"), f


def shrink_rtn(weight, *, bits, symmetric, strategy, group_size, inputs, params, layer):
    """test/plugins/ShrinkRtn.cpp's shrink_rtn, in numpy."""
    assert weight.dtype == np.float32 and symmetric
    k, n = weight.shape
    qmax = np.float32(2 ** (bits - 1) - 1)
    if strategy == "tensor":
        absmax = np.abs(weight).max(keepdims=True).reshape(1, 1)
        rows = np.zeros(k, dtype=np.int64)
    else:
        g = group_size if strategy == "group" else k
        groups = -(-k // g)
        padded = np.zeros((groups * g, n), np.float32)
        padded[:k] = np.abs(weight)
        absmax = padded.reshape(groups, g, n).max(axis=1)
        rows = np.arange(k) // g
    scale = np.where(absmax > 0, (absmax.astype(np.float64) * params["ratio"] / qmax), 1.0)
    scale = scale.astype(np.float32)
    per_row = scale[rows] if strategy != "tensor" else np.broadcast_to(scale, (k, n))
    q = np.clip(np.rint(weight / per_row), -qmax - 1, qmax).astype(np.int8)
    return q, scale.reshape(-1)


def test_python_algorithm_matches_its_cpp_plugin(tmp_path, llm):
    amct.load_plugin(PLUGIN)
    amct.algorithm_register("shrink_rtn_py", shrink_rtn,
                            params={"ratio": {"min": 0, "min_exclusive": True, "max": 1,
                                              "default": 0.9}})
    assert {"shrink_rtn", "shrink_rtn_py", "gptq"} <= set(amct.registered_algorithms())
    tokens = {"tokens": np.load(llm / "tokens.npy")}
    base = json.loads((LLM_INPUTS / "plugin" / "shrink.json").read_text())
    for strategy in [{"strategy": "group", "group_size": 32}, {"strategy": "channel"},
                     {"strategy": "tensor"}]:
        cfg = dict(base, quant_cfg={"weights": dict({"type": "int4"}, **strategy)})
        py = dict(cfg, algorithm={"shrink_rtn_py": {"ratio": 0.95}})
        name = strategy["strategy"]
        amct.quantize(llm / "model.onnx", cfg, tokens, tmp_path / f"cpp_{name}")
        report = amct.quantize(llm / "model.onnx", py, tokens, tmp_path / f"py_{name}")
        for f in ["_fake_quant_model.onnx", "_deploy_model.onnx", "_record.txt"]:
            assert same_bytes(tmp_path / f"cpp_{name}{f}", tmp_path / f"py_{name}{f}"), (name, f)
        assert all(r["method"].startswith("shrink_rtn_py") for r in report["quantized"])
    # The parameter schema is checked when the config is read.
    bad = dict(base, algorithm={"shrink_rtn_py": {"ratio": 1.5}})
    with pytest.raises(amct.AmctError, match="ratio"):
        amct.quantize(llm / "model.onnx", bad, tokens, tmp_path / "bad")


def test_python_activation_algorithm_and_inputs(tmp_path, llm):
    seen = {}

    def fixed(values, *, bits, symmetric, params, layer):
        seen[layer] = values.shape
        return params["scale"], 0

    def rows_rtn(weight, *, inputs, **kw):
        assert inputs is not None and inputs.shape[1] == weight.shape[0]
        return shrink_rtn(weight, inputs=inputs, **dict(kw, params={"ratio": 1.0}))

    amct.algorithm_register("fixed_act_py", activation_fn=fixed,
                            params={"scale": {"min": 0, "min_exclusive": True, "default": 0.05}})
    amct.algorithm_register("rows_rtn_py", rows_rtn, needs_inputs=True)
    tokens = {"tokens": np.load(llm / "tokens.npy")}
    cfg = json.loads((LLM_INPUTS / "plugin" / "fixed-act.json").read_text())
    cfg["algorithm"] = {"smoothquant": {"smooth_strength": 0.5}, "fixed_act_py": {"scale": 0.0625}}
    report = amct.quantize(llm / "model.onnx", cfg, tokens, tmp_path / "act")
    assert seen and all(len(s) == 2 for s in seen.values())
    assert all(r["scale_d"] == 0.0625 for r in report["quantized"] if r["scale_d"] is not None)
    rows = json.loads((LLM_INPUTS / "plugin" / "rows.json").read_text())
    amct.quantize(llm / "model.onnx", dict(rows, algorithm="rows_rtn_py"), tokens, tmp_path / "r")


def test_python_algorithm_errors_are_raised_and_write_nothing(tmp_path, llm):
    def broken(weight, **kw):
        raise ValueError("cannot quantize this one")

    def wrong_shape(weight, **kw):
        return np.zeros(3, np.int8), np.ones(1, np.float32)

    amct.algorithm_register("broken_py", broken)
    amct.algorithm_register("wrong_shape_py", wrong_shape)
    tokens = {"tokens": np.load(llm / "tokens.npy")}
    cfg = {"quant_cfg": {"weights": {"type": "int8", "strategy": "channel"}}}
    with pytest.raises(amct.AmctError, match="broken_py.*cannot quantize this one"):
        amct.quantize(llm / "model.onnx", dict(cfg, algorithm="broken_py"), tokens, tmp_path / "b")
    with pytest.raises(amct.AmctError, match="wrong_shape_py.*3 values"):
        amct.quantize(llm / "model.onnx", dict(cfg, algorithm="wrong_shape_py"), tokens,
                      tmp_path / "w")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(amct.AmctError, match="broken_py"):  # the name is taken
        amct.algorithm_register("broken_py", broken)
    with pytest.raises(amct.AmctError, match="gptq"):  # so is a built-in's
        amct.algorithm_register("gptq", broken)
    with pytest.raises(ValueError, match="type"):
        amct.algorithm_register("x_py", broken, params={"a": {"type": "string"}})
    with pytest.raises(TypeError, match="callable"):
        amct.algorithm_register("y_py", 3)


def test_bad_input_raises_the_cli_message(tmp_path):
    model = MODELS / "cnn_bn.onnx"
    # A missing model file.
    with pytest.raises(amct.AmctError) as e:
        amct.quantize_model(None, tmp_path / "nope.onnx", tmp_path / "m.onnx", tmp_path / "r.txt",
                            input_data={"input": calib("cnn_bn")})
    np.save(tmp_path / "x.npy", calib("cnn_bn"))
    assert str(e.value).split(": error: ", 1)[1] == cli_error(
        "quantize", "--model", tmp_path / "nope.onnx", "--calib-data", tmp_path / "x.npy",
        "--save-path", tmp_path / "p")
    # float64 data for a float32 input: refused, naming the input and both types.
    np.save(tmp_path / "x64.npy", calib("cnn_bn").astype(np.float64))
    with pytest.raises(amct.AmctError) as e:
        amct.quantize(model, input_data=calib("cnn_bn").astype(np.float64),
                      save_path=tmp_path / "p")
    assert str(e.value).split(": error: ", 1)[1] == cli_error(
        "quantize", "--model", model, "--calib-data", tmp_path / "x64.npy", "--save-path",
        tmp_path / "p")
    assert "float64, expected float32" in str(e.value)
    # A malformed model, given as bytes.
    with pytest.raises(amct.AmctError, match="ModelProto"):
        amct.run_model(b"not a model", {"input": calib("cnn_bn")})
    # A bad config key names the key, as the CLI does.
    (tmp_path / "bad.json").write_text('{"batch_num": 1, "no_such_key": 3}')
    with pytest.raises(amct.AmctError) as e:
        amct.quantize_model(tmp_path / "bad.json", model, tmp_path / "m.onnx", tmp_path / "r.txt",
                            input_data={"input": calib("cnn_bn")})
    assert "no_such_key" in str(e.value)
    assert str(e.value).split(": error: ", 1)[1] == cli_error(
        "quantize", "--model", model, "--config", tmp_path / "bad.json", "--calib-data",
        tmp_path / "x.npy", "--save-path", tmp_path / "p")
    # Wrong input names and missing inputs.
    with pytest.raises(amct.AmctError, match="'image' is not an input"):
        amct.run_model(model, {"image": calib("cnn_bn")})
    with pytest.raises(amct.AmctError, match="missing input 'input'"):
        amct.run_model(model, {})
    assert not any(p.suffix == ".onnx" for p in tmp_path.iterdir())


def test_bad_argument_types(tmp_path):
    model = MODELS / "cnn_bn.onnx"
    data = {"input": calib("cnn_bn")}
    with pytest.raises(TypeError, match="config_file must be a file path"):
        amct.quantize_model(["q.json"], model, "m.onnx", "r.txt", input_data=data)
    with pytest.raises(TypeError, match="model must be an ONNX file path or an onnx.ModelProto"):
        amct.quantize(123, input_data=data, save_path=tmp_path / "p")
    with pytest.raises(TypeError, match="input_data must be a dict"):
        amct.quantize(model, input_data=[calib("cnn_bn")], save_path=tmp_path / "p")
    with pytest.raises(TypeError, match=r"input_data\['input'\] must be a numpy array"):
        amct.quantize(model, input_data={"input": [1.0, 2.0]}, save_path=tmp_path / "p")
    with pytest.raises(TypeError, match="numpy dtype complex64"):
        amct.run_model(model, {"input": np.zeros((1, 3, 16, 16), np.complex64)})
    with pytest.raises(TypeError, match="batch_num must be an int"):
        amct.quantize(model, input_data=data, save_path=tmp_path / "p", batch_num=1.5)
    with pytest.raises(ValueError, match="batch_num must be >= 1"):
        amct.create_quant_config(tmp_path / "q.json", model, batch_num=0)
    with pytest.raises(TypeError, match="skip_layers must be a list"):
        amct.create_quant_config(tmp_path / "q.json", model, skip_layers="conv1")
    with pytest.raises(TypeError, match="input_data is required"):
        amct.quantize_model(None, model, "m.onnx", "r.txt")
    assert list(tmp_path.iterdir()) == []


def test_failed_job_leaves_earlier_outputs_untouched(tmp_path):
    model = MODELS / "cnn_bn.onnx"
    amct.quantize(model, input_data=calib("cnn_bn"), save_path=tmp_path / "p")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(amct.AmctError):
        amct.quantize(model, input_data=calib("cnn_bn")[:, :, :8], save_path=tmp_path / "p")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_kv_cache_config_identical_to_cli(tmp_path, llm):
    char_lm = ROOT / "test" / "llm" / "char_lm.onnx"
    info = amct.create_kv_cache_config(tmp_path / "py.cfg", char_lm)
    cli("create-config", "--kv-cache", "--model", char_lm, "-o", tmp_path / "cli.cfg")
    assert same_bytes(tmp_path / "py.cfg", tmp_path / "cli.cfg")
    assert len(info["layers"]) >= 2 and all(f'"{n}"' in (tmp_path / "py.cfg").read_text()
                                            for n in info["layers"])
    # A model without attention has none: the CLI's error.
    with pytest.raises(amct.AmctError) as e:
        amct.create_kv_cache_config(tmp_path / "none.cfg", llm / "model.onnx")
    assert str(e.value).split(": error: ", 1)[1] == cli_error(
        "create-config", "--kv-cache", "--model", llm / "model.onnx", "-o", tmp_path / "none.cfg")
    assert not (tmp_path / "none.cfg").exists()


@pytest.mark.parametrize("example", ["ptq_cnn.py", "llm_algorithm.py"])
def test_examples_run(tmp_path, example):
    """examples/python, as README shows them."""
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / example),
                        str(tmp_path / "out")], capture_output=True, text=True,
                       env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    if example == "ptq_cnn.py":
        cosine = float(lines[-1].split("mean cosine ")[1].split(",")[0])
        assert cosine > 0.9999 and "top-1 agreement" in lines[-1]
    else:
        errors = {l.split()[0]: float(l.split("weight error ")[1].split(",")[0]) for l in lines}
        assert errors["clip_search"] < errors["minmax"]


def test_auto_calibration_with_a_python_evaluator(tmp_path):
    """A ModelEvaluator subclass as the score; the same search as the CLI."""
    model = MODELS / "cnn_bn.onnx"
    data = calib("cnn_bn")
    labels = np.load(MODELS / "cnn_bn.labels.npy")

    class Accuracy(amct.ModelEvaluator):
        calls = 0

        def evaluate(self, path):
            Accuracy.calls += 1
            out = amct.run_model(path, {"input": data})["logits"]
            return float(np.mean(out.argmax(1) == labels))

    r = amct.accuracy_based_auto_calibration(model, Accuracy(), input_data=data,
                                             save_path=tmp_path / "s", max_drop=0.0,
                                             repairs=[])
    assert r["metric"] == 1.0 and r["fp32_metric"] == 1.0 and Accuracy.calls == 2
    assert r["float_layers"] == [] and len(r["trials"]) == 1
    # Cosine with float layers, against the CLI's files.
    r = amct.accuracy_based_auto_calibration(model, input_data=data, eval_data=data,
                                             save_path=tmp_path / "py", target=0.99997,
                                             metric="cosine", repairs=[])
    np.save(tmp_path / "x.npy", data)
    cli("auto-calibrate", "--model", model, "--calib-data", tmp_path / "x.npy", "--eval-data",
        tmp_path / "x.npy", "--target", "cosine>=0.99997", "--repairs", "none", "--save-path",
        tmp_path / "cli")
    for f in ["_quant_config.json", "_fake_quant_model.onnx", "_deploy_model.onnx",
              "_record.txt"]:
        assert same_bytes(tmp_path / f"py{f}", tmp_path / f"cli{f}"), f
    assert r["float_layers"] and r["metric"] >= 0.99997
    config = json.load(open(r["files"]["config"]))
    assert sorted(k for k, v in config.items() if isinstance(v, dict) and not v["quant_enable"]) \
        == sorted(r["float_layers"])
    # An unreachable target: the best metric in the error, no model written.
    with pytest.raises(amct.AmctError, match="cannot be met: the best reached is 0.9999"):
        amct.accuracy_based_auto_calibration(model, input_data=data, eval_data=data,
                                             save_path=tmp_path / "never", target=1.5,
                                             repairs=[])
    assert not (tmp_path / "never_fake_quant_model.onnx").exists()
    # An evaluator that raises fails with its error.
    with pytest.raises(amct.AmctError, match="model_evaluator raised ZeroDivisionError"):
        amct.accuracy_based_auto_calibration(model, lambda path: 1 / 0, input_data=data,
                                             save_path=tmp_path / "boom", max_drop=0.1)
    with pytest.raises(TypeError, match="exactly one of target and max_drop"):
        amct.accuracy_based_auto_calibration(model, input_data=data, eval_data=data,
                                             save_path=tmp_path / "x")


def test_quantize_report_identical_to_cli(tmp_path, llm):
    model = MODELS / "cnn_bn.onnx"
    np.save(tmp_path / "x.npy", calib("cnn_bn"))
    r = amct.quantize(model, input_data=calib("cnn_bn"), save_path=tmp_path / "py",
                      report=tmp_path / "py_report.html")
    assert r["files"]["report"] == str(tmp_path / "py_report.html")
    cli("quantize", "--model", model, "--calib-data", tmp_path / "x.npy", "--save-path",
        tmp_path / "cli", "--report", tmp_path / "cli_report.html")
    assert same_bytes(tmp_path / "py_report.html", tmp_path / "cli_report.html")
    with pytest.raises(amct.AmctError, match="the report covers the layer-config"):
        amct.quantize(llm / "model.onnx", {"quant_cfg": {"weights": {"type": "int8",
                                                                     "strategy": "channel"}}},
                      {"tokens": np.load(llm / "tokens.npy")}, tmp_path / "llm",
                      report=tmp_path / "llm_report.html")
    assert not (tmp_path / "llm_report.html").exists()
    assert not (tmp_path / "llm_record.txt").exists()


def test_prune_and_decompose_identical_to_cli(tmp_path):
    """prune (channel with the refit, 2:4, config dict, record, the search)
    and decompose write the CLI's bytes and return its summary lines."""
    model = MODELS / "cnn_bn.onnx"
    x = calib("cnn_bn")
    np.save(tmp_path / "x.npy", x)
    cases = [
        (dict(method="channel", ratio=0.5, align=1, input_data=x),
         ["--method", "channel", "--ratio", "0.5", "--align", "1", "--calib-data", tmp_path / "x.npy"]),
        (dict(method="2:4"), ["--method", "2:4"]),
        (dict(compress_ratio=0.3, align=1, input_data={"input": x}),
         ["--auto", "--compress-ratio", "0.3", "--align", "1", "--calib-data", tmp_path / "x.npy"]),
    ]
    for i, (kwargs, flags) in enumerate(cases):
        py = amct.prune(model, tmp_path / f"py{i}", **kwargs)
        out = cli("prune", "--model", model, *flags, "--save-path", tmp_path / f"cli{i}").stdout
        assert same_bytes(py["pruned_model"], tmp_path / f"cli{i}_pruned_model.onnx")
        assert same_bytes(py["record_file"], tmp_path / f"cli{i}_prune_record.txt")
        assert [l.replace(f"py{i}", f"cli{i}") for l in py["summary"]] == out.splitlines()
    assert same_bytes(tmp_path / "py2_prune_config.cfg", tmp_path / "cli2_prune_config.cfg")
    # A config as a dict (AMCT's JSON shape), and a record re-applied.
    config = {"prune_config": {"filter_pruner": {"balanced_l2_norm_filter_prune": {
        "prune_ratio": 0.5, "ascend_optimized": False}}}}
    py = amct.prune(model, tmp_path / "cfg", config=config)
    again = amct.prune(model, tmp_path / "rec", record_file=py["record_file"])
    assert same_bytes(py["pruned_model"], again["pruned_model"])
    # Decomposition.
    py = amct.decompose(model, tmp_path / "dpy", ratio=0.5)
    cli("decompose", "--model", model, "--ratio", "0.5", "--save-path", tmp_path / "dcli")
    assert same_bytes(py["decomposed_model"], tmp_path / "dcli_decomposed_model.onnx")
    assert same_bytes(py["decompose_info"], tmp_path / "dcli_decompose_info.json")
    # Bad arguments and inputs: the CLI's messages, nothing written.
    with pytest.raises(ValueError, match="give one of method, config, record_file"):
        amct.prune(model, tmp_path / "bad")
    with pytest.raises(ValueError, match="ratio in \\(0, 1\\)"):
        amct.prune(model, tmp_path / "bad", method="channel", ratio=1.5)
    with pytest.raises(amct.AmctError) as e:
        amct.prune(model, tmp_path / "bad", record_file=tmp_path / "dcli_decompose_info.json")
    assert str(e.value).split(": error: ", 1)[1] == cli_error(
        "prune", "--model", model, "--record", tmp_path / "dcli_decompose_info.json",
        "--save-path", tmp_path / "bad")
    with pytest.raises(ValueError, match="give one of ratio, energy, info_file"):
        amct.decompose(model, tmp_path / "bad")
    assert not list(tmp_path.glob("bad*"))
