//===- AutoCalibrate.cpp - accuracy-based auto calibration ----------------===//

#include "amct/Pipelines/AutoCalibrate.h"

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Metrics.h"
#include "amct/Runtime/Executor.h"
#include "amct/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>

using namespace mlir;
using namespace amct;

std::optional<AutoMetric> amct::parseAutoMetric(StringRef name) {
  if (name == "accuracy")
    return AutoMetric::Accuracy;
  if (name == "agreement")
    return AutoMetric::Agreement;
  if (name == "cosine")
    return AutoMetric::Cosine;
  if (name == "score")
    return AutoMetric::Score;
  return std::nullopt;
}

StringRef amct::autoMetricName(AutoMetric metric) {
  switch (metric) {
  case AutoMetric::Accuracy:
    return "accuracy";
  case AutoMetric::Agreement:
    return "agreement";
  case AutoMetric::Cosine:
    return "cosine";
  case AutoMetric::Score:
    return "score";
  }
  return "";
}

static bool parseFinite(StringRef text, double &value) {
  text = text.trim();
  return !text.empty() && !text.getAsDouble(value) && std::isfinite(value);
}

std::optional<AutoTarget> amct::parseAutoTarget(StringRef target, StringRef maxDrop,
                                                std::string &error) {
  AutoTarget t;
  if (target.empty() == maxDrop.empty()) {
    error = "give exactly one of --target METRIC>=VALUE and --max-drop [METRIC=]D";
    return std::nullopt;
  }
  if (!target.empty()) {
    auto [name, value] = target.split(">=");
    double v;
    t.metric = parseAutoMetric(name.trim());
    if (!t.metric || !target.contains(">=") || !parseFinite(value, v)) {
      error = "--target '" + target.str() +
              "' is not METRIC>=VALUE with METRIC accuracy, agreement, cosine or score";
      return std::nullopt;
    }
    t.target = v;
    return t;
  }
  StringRef value = maxDrop;
  if (maxDrop.contains('=')) {
    auto [name, rest] = maxDrop.split('=');
    t.metric = parseAutoMetric(name.trim());
    if (!t.metric) {
      error = "--max-drop '" + maxDrop.str() +
              "': the metric must be accuracy, agreement, cosine or score";
      return std::nullopt;
    }
    value = rest;
  }
  double d;
  if (!parseFinite(value, d) || d < 0) {
    error = "--max-drop '" + maxDrop.str() + "' is not [METRIC=]D with D >= 0";
    return std::nullopt;
  }
  t.maxDrop = d;
  return t;
}

std::optional<double> amct::lastNumberIn(StringRef output) {
  SmallVector<StringRef> words;
  output.split(words, ' ', -1, false);
  std::optional<double> last;
  for (StringRef w : words) {
    SmallVector<StringRef> lines;
    w.split(lines, '\n', -1, false);
    for (StringRef token : lines) {
      double v;
      if (parseFinite(token.trim(" \t\r,;:()[]{}=\"'"), v))
        last = v;
    }
  }
  return last;
}

namespace {

/// The first output of `module` on the evaluation data, run in slices of
/// 256 samples when every input has them along dim 0.
FailureOr<rt::Tensor> runFirstOutput(ModuleOp module,
                                     const std::map<std::string, rt::Tensor> &data,
                                     int threads) {
  func::FuncOp main = getMainFunction(module);
  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(main, options);
  if (failed(executor))
    return failure();
  std::vector<rt::Tensor> inputs;
  for (const std::string &name : (*executor)->inputNames()) {
    auto it = data.find(name);
    if (it == data.end())
      return main.emitError() << "no evaluation data for input '" << name << "' (inputs: "
                              << llvm::join((*executor)->inputNames(), ", ") << ")";
    inputs.push_back(it->second);
  }
  int64_t n = inputs.empty() || inputs[0].rank() == 0 ? 0 : inputs[0].dim(0);
  bool sliceable = n > 0 && llvm::all_of(inputs, [&](const rt::Tensor &t) {
                     return t.rank() > 0 && t.dim(0) == n;
                   });
  int64_t step = sliceable ? 256 : std::max<int64_t>(n, 1);
  std::vector<rt::Tensor> pieces;
  for (int64_t begin = 0; begin < std::max<int64_t>(n, 1); begin += step) {
    std::vector<rt::Tensor> slice;
    for (const rt::Tensor &t : inputs)
      slice.push_back(sliceable ? t.rows(begin, std::min(n, begin + step)) : t);
    auto out = (*executor)->run(slice);
    if (failed(out))
      return failure();
    pieces.push_back(std::move((*out)[0]));
    if (!sliceable)
      break;
  }
  std::optional<rt::Tensor> all = rt::Tensor::concatRows(pieces);
  if (!all)
    return main.emitError() << "cannot allocate the evaluation output";
  return std::move(*all);
}

class Search {
public:
  Search(ModuleOp model, const AutoCalibrateOptions &options,
         std::vector<AutoCalibrateTrial> &trials)
      : model(model), options(options), trials(trials) {}

  FailureOr<AutoCalibrateResult> run();

private:
  FailureOr<double> evaluate(ModuleOp module);
  /// Quantizes with `config` and measures it; failures of the candidate
  /// (a repair the model cannot take) are a trial, not an error, when
  /// `mayFail`.
  FailureOr<std::pair<QuantizeResult, double>> trial(const QuantConfig &config,
                                                      const std::string &change, bool mayFail,
                                                      bool &candidateFailed);
  /// Reports the last trial (once its fate is known, for repairs).
  void report() {
    if (options.onTrial)
      options.onTrial(line(trials.back()));
  }
  std::string line(const AutoCalibrateTrial &t) const {
    return llvm::formatv("trial {0}: {1}: {2} {3:F6} (target {4:F6}) in {5:F1} s{6}",
                         trials.size(), t.change, autoMetricName(options.metric), t.metric,
                         target, t.seconds, t.kept ? ", kept" : "")
        .str();
  }

  ModuleOp model;
  const AutoCalibrateOptions &options;
  std::vector<AutoCalibrateTrial> &trials;
  std::optional<rt::Tensor> reference;
  double target = 0;
};

FailureOr<double> Search::evaluate(ModuleOp module) {
  if (options.metric == AutoMetric::Score)
    return options.score(module);
  FailureOr<rt::Tensor> out = runFirstOutput(module, options.evalData, options.quantize.threads);
  if (failed(out))
    return failure();
  std::string error;
  std::optional<OutputMetrics> m = computeOutputMetrics(
      *out, options.labels ? &*options.labels : nullptr, reference ? &*reference : nullptr,
      error);
  if (!m)
    return module.emitError() << (options.metric == AutoMetric::Accuracy ? "labels: " : "")
                              << error;
  if (options.metric == AutoMetric::Accuracy)
    return *m->top1Accuracy;
  return options.metric == AutoMetric::Agreement ? *m->top1Agreement : *m->meanCosine;
}

FailureOr<std::pair<QuantizeResult, double>>
Search::trial(const QuantConfig &config, const std::string &change, bool mayFail,
              bool &candidateFailed) {
  candidateFailed = false;
  auto start = std::chrono::steady_clock::now();
  QuantizeOptions q = options.quantize;
  q.config = &config;
  q.configPath.clear();
  q.showProgress = false;
  FailureOr<QuantizeResult> result;
  std::string captured;
  {
    // A repair the model cannot take fails its trial, quietly.
    std::optional<ScopedDiagnosticHandler> quiet;
    if (mayFail)
      quiet.emplace(model.getContext(), [&](Diagnostic &d) {
        if (captured.empty())
          captured = d.str();
        return success();
      });
    result = quantizeModel(model, q);
  }
  AutoCalibrateTrial t;
  t.change = change;
  if (failed(result)) {
    if (!mayFail)
      return failure();
    candidateFailed = true;
    t.change += " (not applicable: " + captured + ")";
    t.metric = NAN;
  } else {
    FailureOr<double> metric = evaluate(*result->fakeQuant);
    if (failed(metric))
      return failure();
    t.metric = *metric;
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  trials.push_back(t);
  if (candidateFailed)
    return std::pair<QuantizeResult, double>{QuantizeResult(), NAN};
  return std::pair<QuantizeResult, double>{std::move(*result), t.metric};
}

/// `config` with one repair applied to every layer it fits; false when it
/// changes nothing.
bool applyRepair(QuantConfig &config, const std::string &repair,
                 const std::vector<QuantizableLayer> &layers) {
  bool changed = false;
  for (const QuantizableLayer &layer : layers) {
    auto it = config.layers.find(layer.name);
    if (it == config.layers.end() || !config.isQuantized(layer.name))
      continue;
    LayerQuantConfig &c = it->second;
    bool weighted = layer.weightOperand >= 0;
    if (repair == "channel" && weighted && allowsChannelWise(layer.type) && !c.wts.channelWise) {
      c.wts.channelWise = c.wts.channelWiseSet = true;
      changed = true;
    } else if (repair == "hfmg" && c.act.algo != "hfmg") {
      c.act.algo = "hfmg";
      changed = true;
    } else if (repair == "dmq" && weighted && isDmqType(layer.type) && !c.dmq.enabled &&
               c.wts.algo != "ada_quantize") {
      c.dmq.enabled = true;
      c.dmq.migrationStrength = 0.5;
      changed = true;
    } else if (repair == "ada" && weighted && isAdaType(layer.type) && !c.dmq.enabled &&
               c.wts.algo != "ada_quantize") {
      c.wts.algo = "ada_quantize";
      changed = true;
    }
  }
  return changed;
}

FailureOr<AutoCalibrateResult> Search::run() {
  AutoCalibrateResult out;
  if (options.metric == AutoMetric::Accuracy && !options.labels)
    return model.emitError("the accuracy metric needs labels");
  if (options.metric == AutoMetric::Score && !options.score)
    return model.emitError("the score metric needs an evaluator");
  if (bool(options.target) == bool(options.maxDrop))
    return model.emitError("give exactly one of a target and a largest drop");
  for (const std::string &r : options.repairs)
    if (r != "channel" && r != "hfmg" && r != "dmq" && r != "ada")
      return model.emitError() << "unknown repair '" << r << "' (channel, hfmg, dmq, ada)";

  // The reference output, and the float model's own metric.
  if (options.metric == AutoMetric::Agreement || options.metric == AutoMetric::Cosine) {
    FailureOr<rt::Tensor> ref = runFirstOutput(
        options.referenceModel ? options.referenceModel : model, options.evalData,
        options.quantize.threads);
    if (failed(ref))
      return failure();
    reference = std::move(*ref);
  }
  FailureOr<double> fp32 = evaluate(model);
  if (failed(fp32))
    return failure();
  out.fp32Metric = *fp32;
  target = options.target ? *options.target : *fp32 - *options.maxDrop;
  out.target = target;

  // The starting config, bound to the model's layers.
  OwningOpRef<ModuleOp> folded = model.clone();
  if (failed(runFuncPass(*folded, createAmctFoldConstants())))
    return failure();
  std::vector<QuantizableLayer> layers = findQuantizableLayers(getMainFunction(*folded), nullptr);
  std::string error;
  std::optional<QuantConfig> config =
      options.quantize.configPath.empty()
          ? loadQuantConfigFile("", getLayerList(layers), error)
          : loadQuantConfigFile(options.quantize.configPath, getLayerList(layers), error);
  if (!config)
    return model.emitError() << error;

  bool failedCandidate = false;
  auto first = trial(*config, "the config as given", false, failedCandidate);
  if (failed(first))
    return failure();
  report();
  std::pair<QuantizeResult, double> best = std::move(*first);
  QuantConfig bestConfig = *config;
  auto done = [&]() -> FailureOr<AutoCalibrateResult> {
    out.quantized = std::move(best.first);
    out.metric = best.second;
    out.config = bestConfig;
    out.trials = trials;
    return std::move(out);
  };
  if (best.second >= target)
    return done();

  // Repairs on every layer, cheapest first, each kept if it helps.
  for (const std::string &repair : options.repairs) {
    QuantConfig candidate = bestConfig;
    if (!applyRepair(candidate, repair, layers))
      continue;
    std::string change = repair == "channel" ? "per-channel weights on every layer"
                         : repair == "hfmg"  ? "HFMG activations on every layer"
                         : repair == "dmq"   ? "DMQ balancing on every weighted layer"
                                             : "ADA rounding on every Conv / Linear";
    auto r = trial(candidate, change, true, failedCandidate);
    if (failed(r))
      return failure();
    bool keep = !failedCandidate && r->second > best.second;
    trials.back().kept = keep;
    report();
    if (keep) {
      best = std::move(*r);
      bestConfig = candidate;
      out.repairsKept.push_back(repair);
      if (best.second >= target)
        return done();
    }
  }

  // Sensitivity: each layer's output cosine, fp32 against quantized, in
  // the best config so far; the least similar first (ties: graph order).
  std::vector<std::pair<double, std::string>> ranked;
  for (const QuantizableLayer &layer : best.first.quantized) {
    auto it = best.first.layerCosine.find(layer.name);
    ranked.push_back({it == best.first.layerCosine.end() ? 1.0 : it->second, layer.name});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  int64_t n = int64_t(ranked.size());
  auto withFloat = [&](int64_t k) {
    QuantConfig c = bestConfig;
    for (int64_t i = 0; i < k; ++i)
      c.layers[ranked[i].second].quantEnable = false;
    return c;
  };
  std::map<int64_t, std::pair<QuantizeResult, double>> byCount;
  std::map<int64_t, size_t> trialOf;
  auto measure = [&](int64_t k) -> FailureOr<double> {
    // The layers by name, the first few of a long list.
    std::string names;
    for (int64_t i = 0; i < std::min<int64_t>(k, 3); ++i)
      names += (i ? ", " : "") + ranked[i].second;
    if (k > 3)
      names += ", ... " + ranked[k - 1].second;
    auto r = trial(withFloat(k), llvm::formatv("{0} most sensitive layer{1} in float ({2})", k,
                                               k == 1 ? "" : "s", names),
                   false, failedCandidate);
    if (failed(r))
      return failure();
    report();
    double metric = r->second;
    byCount[k] = std::move(*r);
    trialOf[k] = trials.size() - 1;
    return metric;
  };
  // AMCT's BinarySearch over the count: the most that can stay float is
  // all but one (a config must quantize something).
  int64_t lo = 1, hi = n - 1;
  if (hi < lo) {
    return model.emitError() << "the target " << autoMetricName(options.metric)
                             << " >= " << llvm::formatv("{0:F6}", target).str()
                             << " cannot be met: the best reached is "
                             << llvm::formatv("{0:F6}", best.second).str()
                             << " and the model has no layer to leave in float";
  }
  FailureOr<double> atHi = measure(hi);
  if (failed(atHi))
    return failure();
  if (*atHi < target) {
    double reached = std::max(best.second, *atHi);
    return model.emitError() << "the target " << autoMetricName(options.metric) << " >= "
                             << llvm::formatv("{0:F6}", target).str()
                             << " cannot be met: the best reached is "
                             << llvm::formatv("{0:F6}", reached).str() << " ("
                             << (reached == *atHi ? std::to_string(hi) + " of " +
                                                        std::to_string(n) + " layers in float"
                                                  : "the config as given plus repairs")
                             << "; fp32 " << llvm::formatv("{0:F6}", out.fp32Metric).str()
                             << ")";
  }
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    FailureOr<double> m = measure(mid);
    if (failed(m))
      return failure();
    if (*m >= target)
      hi = mid;
    else
      lo = mid + 1;
  }
  best = std::move(byCount[lo]);
  bestConfig = withFloat(lo);
  for (int64_t i = 0; i < lo; ++i)
    out.floatLayers.push_back(ranked[i].second);
  for (AutoCalibrateTrial &t : trials)
    t.kept = false;
  trials[trialOf[lo]].kept = true;
  return done();
}

} // namespace

FailureOr<AutoCalibrateResult> amct::autoCalibrate(ModuleOp model,
                                                   const AutoCalibrateOptions &options,
                                                   std::vector<AutoCalibrateTrial> *trials) {
  std::vector<AutoCalibrateTrial> local;
  Search search(model, options, trials ? *trials : local);
  return search.run();
}
