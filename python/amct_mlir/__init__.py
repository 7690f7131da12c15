"""amct_mlir: AMCT's Python API for ONNX models, on amct-mlir's C++ library.

The functions keep the names and arguments of AMCT's (ONNX edition) API;
the calibration runs inside, on amct-mlir's CPU executor, so the functions
that calibrate take the calibration data (``input_data``: numpy arrays by
graph input name, samples along dim 0)::

    import numpy as np, amct_mlir as amct
    amct.create_quant_config("q.json", "model.onnx", skip_layers=None, batch_num=1,
                             activation_offset=True)
    amct.quantize_model("q.json", "model.onnx", "modified.onnx", "record.txt",
                        input_data={"input": np.load("calib.npy")})
    amct.save_model("modified.onnx", "record.txt", "out/model")
    # out/model_fake_quant_model.onnx, out/model_deploy_model.onnx

A model is a file path or an ``onnx.ModelProto``. Every failure the library
reports raises :class:`AmctError` with the message the ``amct`` command
prints for it; wrong argument types raise ``TypeError`` / ``ValueError``.
"""

import json
import os
import tempfile

import numpy as np

from . import _core
from ._core import AmctError

__all__ = [
    "AmctError",
    "ModelEvaluator",
    "accuracy_based_auto_calibration",
    "algorithm_register",
    "convert",
    "create_kv_cache_config",
    "create_quant_config",
    "decompose",
    "load_plugin",
    "prune",
    "quantize",
    "quantize_model",
    "registered_algorithms",
    "run_model",
    "save_model",
]

__version__ = "0.1.0"


def _type_name(value):
    return type(value).__name__


def _path(function, arg, value, optional=False):
    """A file path argument as str."""
    if value is None and optional:
        return ""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return path
    raise TypeError(f"{function}: {arg} must be a file path (str or os.PathLike), "
                    f"got {_type_name(value)} {value!r}"[:300])


def _model(function, value):
    """A model as a path (str) or serialized ONNX (bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if hasattr(value, "SerializeToString") and hasattr(value, "graph"):
        return value.SerializeToString()  # onnx.ModelProto
    if isinstance(value, (str, os.PathLike)):
        return _path(function, "model", value)
    raise TypeError(f"{function}: model must be an ONNX file path or an onnx.ModelProto, "
                    f"got {_type_name(value)}")


def _int(function, arg, value, minimum, optional=True):
    if value is None and optional:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{function}: {arg} must be an int, got {_type_name(value)} {value!r}")
    if value < minimum:
        raise ValueError(f"{function}: {arg} must be >= {minimum}, got {value}")
    return int(value)


def _bool(function, arg, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{function}: {arg} must be True or False, got {_type_name(value)}")
    return bool(value)


def _input_data(function, value, required=True):
    """{name: array}; a single array stands for a model's only input."""
    if value is None:
        if required:
            raise TypeError(f"{function}: input_data is required: the calibration inputs as "
                            "{input name: numpy array} (samples along dim 0)")
        return {}
    if isinstance(value, np.ndarray):
        return {"": value}
    if not isinstance(value, dict):
        raise TypeError(f"{function}: input_data must be a dict {{input name: numpy array}} "
                        f"or one numpy array, got {_type_name(value)}")
    for name, array in value.items():
        if not isinstance(name, str):
            raise TypeError(f"{function}: input_data keys must be input names (str), "
                            f"got {_type_name(name)}")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{function}: input_data['{name}'] must be a numpy array, "
                            f"got {_type_name(array)}")
    return dict(value)


class _ConfigFile:
    """A config given as a path, or as a dict written to a temporary JSON file."""

    def __init__(self, function, arg, value):
        self.temp = None
        if value is None:
            self.path = ""
        elif isinstance(value, dict):
            handle, self.temp = tempfile.mkstemp(prefix="amct_config_", suffix=".json")
            with os.fdopen(handle, "w") as f:
                json.dump(value, f)
            self.path = self.temp
        else:
            self.path = _path(function, arg, value)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        if self.temp:
            os.unlink(self.temp)


def _quantize_args(function, config_file="", kv_cache_config="", batch_num=None, batch_size=None,
                   threads=0, cosine_samples=8):
    args = _core.QuantizeArgs()
    args.config_file = config_file
    args.kv_cache_config = kv_cache_config
    args.batch_num = _int(function, "batch_num", batch_num, 1)
    args.batch_size = _int(function, "batch_size", batch_size, 1)
    args.threads = _int(function, "threads", threads, 0)
    args.cosine_samples = _int(function, "cosine_samples", cosine_samples, 0)
    return args


def create_quant_config(config_file, model, skip_layers=None, batch_num=1,
                        activation_offset=True, config_defination=None):
    """AMCT's create_quant_config: writes the JSON quant config of every
    quantizable layer of ``model`` to ``config_file``.

    ``skip_layers``: layer names not to quantize; ``batch_num``: calibration
    batches; ``activation_offset``: asymmetric activations;
    ``config_defination``: a simple ``.cfg`` to expand instead (the other
    arguments are then ignored, as in AMCT). Returns ``{"layers": [...],
    "not_quantizable": [(name, reason), ...]}``.
    """
    f = "create_quant_config"
    if skip_layers is None:
        skip_layers = []
    if isinstance(skip_layers, str) or not all(isinstance(s, str) for s in skip_layers):
        raise TypeError(f"{f}: skip_layers must be a list of layer names (str)")
    return _core.create_config(f, _path(f, "config_file", config_file), _model(f, model),
                               list(skip_layers), _int(f, "batch_num", batch_num, 1, False),
                               _bool(f, "activation_offset", activation_offset),
                               _path(f, "config_defination", config_defination, optional=True),
                               False)


def create_kv_cache_config(config_file, model):
    """Writes a KV-cache quant config (protobuf text) naming the K and V
    projections found in ``model``, for ``quantize(kv_cache_config=...)``.
    Returns ``{"layers": [...], ...}``."""
    f = "create_kv_cache_config"
    return _core.create_config(f, _path(f, "config_file", config_file), _model(f, model), [], 1,
                               True, "", True)


def quantize_model(config_file, model, modified_onnx_file, record_file, input_data=None,
                   batch_num=None, batch_size=None, threads=0, cosine_samples=8):
    """AMCT's quantize_model, calibrating too: fuses ``model`` (writes it to
    ``modified_onnx_file``), inserts the quantization observers of
    ``config_file`` (None: the default config), runs the calibration
    batches of ``input_data`` and writes the scales and offsets to
    ``record_file``. Then :func:`save_model` makes the quantized models.

    Returns a report: ``quantized`` (per layer: name, type, scale_d,
    offset_d, scale_w, cosine), ``skipped`` (name, type, reason),
    ``output_cosine``, ``files``.
    """
    f = "quantize_model"
    data = _input_data(f, input_data)
    args = _quantize_args(f, _path(f, "config_file", config_file, optional=True), "", batch_num,
                          batch_size, threads, cosine_samples)
    return _core.quantize_model(_model(f, model), data, args,
                                _path(f, "modified_onnx_file", modified_onnx_file),
                                _path(f, "record_file", record_file))


def save_model(modified_onnx_file, record_file, save_path, config_file=None,
               onnx_external_data=False):
    """AMCT's save_model: the fake-quant model (ONNX Runtime) and the deploy
    model (Ascend ops) from the modified model and the record:
    ``<save_path>_fake_quant_model.onnx`` and ``<save_path>_deploy_model.onnx``.
    ``config_file``: the config the record was made with (default: every
    layer the record has an activation scale for)."""
    f = "save_model"
    return _core.convert(f, _path(f, "modified_onnx_file", modified_onnx_file),
                         _path(f, "record_file", record_file), _path(f, "save_path", save_path),
                         _path(f, "config_file", config_file, optional=True),
                         _bool(f, "onnx_external_data", onnx_external_data))


def quantize(model, config=None, input_data=None, save_path=None, kv_cache_config=None,
             record_file=None, modified_onnx_file=None, batch_num=None, batch_size=None,
             threads=0, cosine_samples=8, onnx_external_data=False, report=None):
    """The whole job of ``amct quantize``: calibrate ``model`` on
    ``input_data`` with ``config`` (a CNN config or AMCT's language-model
    config ``{"quant_cfg": ...}``, as a file path or a dict; None: the
    default CNN config) and optionally ``kv_cache_config``, and write
    ``<save_path>_fake_quant_model.onnx``, ``<save_path>_deploy_model.onnx``
    and the record (``<save_path>_record.txt`` unless ``record_file``).
    Returns the report of :func:`quantize_model` (with ``method`` and
    ``weight_error`` per layer for weight-only configs). ``report``: also
    write the per-layer sensitivity report (HTML) there (layer configs)."""
    f = "quantize"
    data = _input_data(f, input_data)
    save_path = _path(f, "save_path", save_path)
    with _ConfigFile(f, "config", config) as config_path, \
            _ConfigFile(f, "kv_cache_config", kv_cache_config) as kv_path:
        args = _quantize_args(f, config_path, kv_path, batch_num, batch_size, threads,
                              cosine_samples)
        return _core.quantize(_model(f, model), data, args, save_path,
                              _path(f, "record_file", record_file, optional=True),
                              _path(f, "modified_onnx_file", modified_onnx_file, optional=True),
                              _bool(f, "onnx_external_data", onnx_external_data),
                              _path(f, "report", report, optional=True))


def convert(model, record_file, save_path, config=None, onnx_external_data=False):
    """``amct convert``: the fake-quant and deploy models of the fp32
    ``model`` from a record, without calibrating (``config``: the config the
    record was made with, a path or a dict; needed for language-model
    records)."""
    f = "convert"
    with _ConfigFile(f, "config", config) as config_path:
        return _core.convert(f, _model(f, model), _path(f, "record_file", record_file),
                             _path(f, "save_path", save_path), config_path,
                             _bool(f, "onnx_external_data", onnx_external_data))


def prune(model, save_path, method=None, ratio=None, align=16, config=None, record_file=None,
          input_data=None, reconstruct=True, skip_layers=None, compress_ratio=None,
          max_prune_ratio=1.0, batch_num=1, batch_size=0, threads=0, onnx_external_data=False):
    """``amct prune``: channel pruning (``method="channel"`` with ``ratio``;
    ``align`` 16 is AMCT's ascend_optimized, 1 the exact ratio) or 2:4
    sparsity (``method="2:4"``), by AMCT's prune ``config`` (a .cfg / JSON
    path or a dict), by a ``record_file`` (re-applied), or found by the
    automatic search (``compress_ratio``: the share of FLOPs to remove;
    needs ``input_data``). With ``input_data`` (calibration inputs) the
    pruned layers are refitted by least squares unless ``reconstruct`` is
    False. Writes ``<save_path>_pruned_model.onnx`` and
    ``<save_path>_prune_record.txt`` (the search also
    ``<save_path>_prune_config.cfg``); returns their paths and the summary
    lines ``amct prune`` prints."""
    f = "prune"
    sources = [method is not None, config is not None, record_file is not None,
               compress_ratio is not None]
    if sum(sources) != 1:
        raise ValueError(f"{f}: give one of method, config, record_file, compress_ratio")
    if method is not None and method not in ("channel", "2:4"):
        raise ValueError(f"{f}: method must be 'channel' or '2:4', got {method!r}")
    if method == "channel":
        if not isinstance(ratio, (int, float)) or not 0 < ratio < 1:
            raise ValueError(f"{f}: method 'channel' needs ratio in (0, 1), got {ratio!r}")
    elif ratio is not None:
        raise ValueError(f"{f}: ratio goes with method='channel'")
    if compress_ratio is not None:
        if not isinstance(compress_ratio, (int, float)) or not 0 < compress_ratio < 1:
            raise ValueError(f"{f}: compress_ratio must be in (0, 1), got {compress_ratio!r}")
        if input_data is None:
            raise ValueError(f"{f}: the automatic search (compress_ratio) measures "
                             "sensitivities on input_data")
    if not isinstance(max_prune_ratio, (int, float)) or not 0 < max_prune_ratio <= 1:
        raise ValueError(f"{f}: max_prune_ratio must be in (0, 1], got {max_prune_ratio!r}")
    align = _int(f, "align", align, 1, optional=False)
    skip = list(skip_layers or [])
    if not all(isinstance(x, str) for x in skip):
        raise TypeError(f"{f}: skip_layers must be layer names (str)")
    data = _input_data(f, input_data, required=False)
    with _ConfigFile(f, "config", config) as config_path:
        return _core.prune(_model(f, model), data, method or "", float(ratio or 0), align, skip,
                           config_path, _path(f, "record_file", record_file, optional=True),
                           _bool(f, "reconstruct", reconstruct), float(compress_ratio or 0),
                           float(max_prune_ratio), _int(f, "batch_num", batch_num, 1),
                           _int(f, "batch_size", batch_size, 0), _int(f, "threads", threads, 0),
                           _path(f, "save_path", save_path),
                           _bool(f, "onnx_external_data", onnx_external_data))


def decompose(model, save_path, ratio=None, energy=None, info_file=None, even_if_larger=False,
              skip_layers=None, onnx_external_data=False):
    """``amct decompose`` (AMCT's auto_decomposition / decompose_network):
    KxK Conv2d -> 1x1, KxK, 1x1 (Tucker-2), Linear / 1x1 Conv2d -> two thin
    layers (SVD), ranks by ``ratio`` (share of each layer's multiply-adds to
    keep) or ``energy`` (share of the singular values' energy), or re-applied
    from ``info_file``. Writes ``<save_path>_decomposed_model.onnx`` and
    ``<save_path>_decompose_info.json``; returns their paths and the summary."""
    f = "decompose"
    if sum(x is not None for x in (ratio, energy, info_file)) != 1:
        raise ValueError(f"{f}: give one of ratio, energy, info_file")
    if ratio is not None and (not isinstance(ratio, (int, float)) or not 0 < ratio < 1):
        raise ValueError(f"{f}: ratio must be in (0, 1), got {ratio!r}")
    if energy is not None and (not isinstance(energy, (int, float)) or not 0 < energy <= 1):
        raise ValueError(f"{f}: energy must be in (0, 1], got {energy!r}")
    skip = list(skip_layers or [])
    if not all(isinstance(x, str) for x in skip):
        raise TypeError(f"{f}: skip_layers must be layer names (str)")
    return _core.decompose(_model(f, model), float(ratio or 0), float(energy or 0),
                           _path(f, "info_file", info_file, optional=True),
                           _bool(f, "even_if_larger", even_if_larger), skip,
                           _path(f, "save_path", save_path),
                           _bool(f, "onnx_external_data", onnx_external_data))


def run_model(model, input_data, threads=0):
    """Runs ``model`` (fp32, fake-quant or deploy) on amct-mlir's executor;
    returns ``{output name: numpy array}`` in output order."""
    f = "run_model"
    return _core.run_model(_model(f, model), _input_data(f, input_data),
                           _int(f, "threads", threads, 0))


class ModelEvaluator:
    """AMCT's ModelEvaluator: subclass it and return a model's score (higher
    is better) from ``evaluate(model)``, where ``model`` is the path of an
    ONNX model (each candidate's fake-quant model, and the fp32 model for
    ``max_drop``). A plain function of the path works too."""

    def evaluate(self, model):
        raise NotImplementedError("ModelEvaluator.evaluate(model) must return a number")


_METRICS = ("accuracy", "agreement", "cosine", "score")
_REPAIRS = ("channel", "hfmg", "dmq", "ada")


def accuracy_based_auto_calibration(model, model_evaluator=None, config_file=None,
                                    save_path=None, input_data=None, eval_data=None,
                                    labels=None, reference_model=None, metric=None,
                                    target=None, max_drop=None, repairs=_REPAIRS,
                                    batch_num=None, batch_size=None, threads=0):
    """AMCT's accuracy_based_auto_calibration (``amct auto-calibrate``):
    quantizes ``model`` with ``config_file`` (None: the default config) on
    ``input_data``, measures ``metric`` and, when it misses the target
    (``target``, or the fp32 model's metric minus ``max_drop``), tries the
    ``repairs`` in order (per-channel weights, HFMG, DMQ, ADA; each kept
    only when it helps), then leaves the fewest most sensitive layers in
    float (AMCT's binary search). Metrics: ``accuracy`` (top-1 against
    ``labels`` on ``eval_data``), ``agreement`` / ``cosine`` (against
    ``reference_model``, default the fp32 model, on ``eval_data``),
    ``score`` (what ``model_evaluator`` returns for a model file). Writes
    ``<save_path>_quant_config.json`` (layers left in float have
    ``quant_enable: false``), the fake-quant and deploy models, the record
    and ``<save_path>_auto_calibration.log``; returns the metric, the float
    layers, the repairs kept and every trial. A target no config meets
    raises AmctError with the best metric reached, writing no model.
    """
    f = "accuracy_based_auto_calibration"
    if metric is None:
        metric = ("score" if model_evaluator is not None
                  else "accuracy" if labels is not None else "cosine")
    if metric not in _METRICS:
        raise ValueError(f"{f}: metric must be one of {', '.join(_METRICS)}, got {metric!r}")
    if (target is None) == (max_drop is None):
        raise TypeError(f"{f}: give exactly one of target and max_drop")
    for name, value in (("target", target), ("max_drop", max_drop)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, float, np.floating))):
            raise TypeError(f"{f}: {name} must be a number, got {_type_name(value)}")
    if max_drop is not None and max_drop < 0:
        raise ValueError(f"{f}: max_drop must be >= 0, got {max_drop}")
    if metric == "score" and model_evaluator is None:
        raise TypeError(f"{f}: the score metric needs a model_evaluator")
    if model_evaluator is not None and not (callable(model_evaluator) or
                                            hasattr(model_evaluator, "evaluate")):
        raise TypeError(f"{f}: model_evaluator must be a ModelEvaluator or a function of a "
                        "model path")
    if metric == "accuracy" and labels is None:
        raise TypeError(f"{f}: the accuracy metric needs labels")
    if labels is not None and not isinstance(labels, np.ndarray):
        raise TypeError(f"{f}: labels must be a numpy array, got {_type_name(labels)}")
    if isinstance(repairs, str) or not all(r in _REPAIRS for r in repairs):
        raise ValueError(f"{f}: repairs must be a list of {', '.join(_REPAIRS)}")
    data = _input_data(f, input_data)
    evals = _input_data(f, eval_data, required=metric != "score")
    args = _quantize_args(f, _path(f, "config_file", config_file, optional=True), "",
                          batch_num, batch_size, threads)
    return _core.accuracy_based_auto_calibration(
        _model(f, model), data, evals, args, metric,
        None if target is None else float(target), None if max_drop is None else float(max_drop),
        labels, None if reference_model is None else _model(f, reference_model),
        model_evaluator, list(repairs), _path(f, "save_path", save_path))


_PARAM_KINDS = ("number", "integer", "bool")


def _param_specs(function, params):
    if params is None:
        return []
    if not isinstance(params, dict):
        raise TypeError(f"{function}: params must be a dict {{name: {{'type': 'number', "
                        "'min': ..., 'max': ..., 'default': ...}}}}")
    specs = []
    for name, spec in params.items():
        if not isinstance(name, str) or not isinstance(spec, dict):
            raise TypeError(f"{function}: params['{name}'] must be a dict")
        unknown = set(spec) - {"type", "min", "max", "min_exclusive", "max_exclusive", "default"}
        if unknown:
            raise ValueError(f"{function}: params['{name}'] has unknown key(s) "
                             f"{sorted(unknown)} (known: type, min, max, min_exclusive, "
                             "max_exclusive, default)")
        kind = spec.get("type", "number")
        if kind not in _PARAM_KINDS:
            raise ValueError(f"{function}: params['{name}']['type'] is '{kind}', expected one "
                             f"of {', '.join(_PARAM_KINDS)}")
        specs.append((name, kind, float(spec.get("min", -np.inf)), float(spec.get("max", np.inf)),
                      bool(spec.get("min_exclusive", False)),
                      bool(spec.get("max_exclusive", False)), float(spec.get("default", 0))))
    return specs


def algorithm_register(name, weight_fn=None, activation_fn=None, params=None,
                       needs_inputs=False):
    """AMCT's algorithm_register for the language-model flow: a Python
    function as a quantization algorithm a config can name
    (``{"algorithm": {name: {...params}}}``).

    ``weight_fn(weight, *, bits, symmetric, strategy, group_size, inputs,
    params, layer)`` gets a Linear layer's float32 weight ``[K, N]`` (and,
    with ``needs_inputs``, its calibration inputs ``[rows, K]``) and returns
    ``(q, scale)`` or ``(q, scale, offset)``: integers ``[K, N]`` in the
    bits' signed range, and one scale (and offset) per tensor, per output
    channel (N) or per group (``ceil(K / group_size) * N``, group-major).

    ``activation_fn(values, *, bits, symmetric, params, layer)`` gets a W8A8
    layer's calibration inputs ``[rows, K]`` and returns ``(scale, offset)``.

    ``params``: ``{name: {"type": "number"|"integer"|"bool", "min", "max",
    "min_exclusive", "max_exclusive", "default"}}``, checked when a config
    is read, as the built-in algorithms' are. Errors the function raises
    fail the quantization with the Python error in the message.
    """
    f = "algorithm_register"
    if not isinstance(name, str) or not name:
        raise TypeError(f"{f}: name must be a non-empty str")
    if (weight_fn is None) == (activation_fn is None):
        raise TypeError(f"{f}: give exactly one of weight_fn, activation_fn")
    function = weight_fn if weight_fn is not None else activation_fn
    if not callable(function):
        raise TypeError(f"{f}: the algorithm must be callable, got {_type_name(function)}")
    specs = _param_specs(f, params)
    origin = f"Python function {getattr(function, '__qualname__', _type_name(function))}"
    if weight_fn is not None:
        _core.register_weight_algorithm(name, weight_fn, specs,
                                        _bool(f, "needs_inputs", needs_inputs), origin)
    else:
        if needs_inputs:
            raise ValueError(f"{f}: needs_inputs is for weight algorithms (activation "
                             "algorithms always get their inputs)")
        _core.register_activation_algorithm(name, activation_fn, specs, origin)


def load_plugin(path):
    """Loads a C++ plugin of algorithms (``amct quantize --plugin P.so``)."""
    _core.load_plugin(_path("load_plugin", "path", path))


def registered_algorithms():
    """Every algorithm name a config can use (built-in and registered)."""
    return list(_core.registered_algorithms())
