//===- LlmConfig.cpp - AMCT's quantize() config for language models -------===//
//
// Keys and values as reference 002 lists them, combinations as reference
// 000's table allows them. Defaults where the references give none:
// symmetric true, weight strategy channel, input strategy tensor, batch_num
// 1, algorithm minmax (docs/Quantization.md says so).
//
//===----------------------------------------------------------------------===//

#include "amct/Support/LlmConfig.h"
#include "amct/Support/AlgorithmRegistry.h"
#include "StrictJson.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace amct;
using namespace amct::detail;

namespace {

const char *const kTopKeys[] = {"batch_num", "quant_cfg", "algorithm", "skip_layers"};
const char *const kQuantCfgKeys[] = {"weights", "inputs"};
const char *const kWeightKeys[] = {"type", "symmetric", "strategy", "group_size"};
const char *const kInputKeys[] = {"type", "symmetric", "strategy"};

bool readWeights(JsonReader &reader, const OJson &value, LlmWeightConfig &out) {
  const std::string path = "quant_cfg.weights";
  const OJson::object_t *object = reader.readObject(value, path, kWeightKeys);
  if (!object)
    return false;
  const OJson *type = member(*object, "type");
  if (!type)
    return reader.fail(path, "\"type\" is required (int4 or int8)");
  std::string t;
  if (!reader.readString(*type, path + ".type", t))
    return false;
  if (t != "int4" && t != "int8")
    return reader.fail(path + ".type", "must be int4 or int8, got " + quote(t));
  out.bits = t == "int4" ? 4 : 8;
  if (const OJson *v = member(*object, "symmetric"))
    if (!reader.readBool(*v, path + ".symmetric", out.symmetric))
      return false;
  std::string strategy = "channel";
  if (const OJson *v = member(*object, "strategy"))
    if (!reader.readString(*v, path + ".strategy", strategy))
      return false;
  if (strategy == "tensor")
    out.strategy = LlmWeightConfig::Strategy::Tensor;
  else if (strategy == "channel")
    out.strategy = LlmWeightConfig::Strategy::Channel;
  else if (strategy == "group")
    out.strategy = LlmWeightConfig::Strategy::Group;
  else
    return reader.fail(path + ".strategy",
                       "must be tensor, channel or group, got " + quote(strategy));
  const OJson *group = member(*object, "group_size");
  if (group && out.strategy != LlmWeightConfig::Strategy::Group)
    return reader.fail(path + ".group_size",
                       "may only be given with strategy group (strategy is " +
                           strategy + ")");
  if (out.strategy == LlmWeightConfig::Strategy::Group) {
    if (!group)
      return reader.fail(path, "strategy group needs group_size");
    long long g;
    if (!reader.readInt(*group, path + ".group_size", g))
      return false;
    if (g < 32 || g % 32)
      return reader.fail(path + ".group_size",
                         "must be a multiple of 32 and at least 32, got " + std::to_string(g));
    out.groupSize = g;
  }
  return true;
}

bool readInputs(JsonReader &reader, const OJson &value, LlmInputConfig &out) {
  const std::string path = "quant_cfg.inputs";
  const OJson::object_t *object = reader.readObject(value, path, kInputKeys);
  if (!object)
    return false;
  const OJson *type = member(*object, "type");
  if (!type)
    return reader.fail(path, "\"type\" is required (int8)");
  std::string t;
  if (!reader.readString(*type, path + ".type", t))
    return false;
  if (t != "int8")
    return reader.fail(path + ".type", "activations are quantized to int8 only, got " + quote(t));
  if (const OJson *v = member(*object, "symmetric"))
    if (!reader.readBool(*v, path + ".symmetric", out.symmetric))
      return false;
  std::string strategy = "tensor";
  if (const OJson *v = member(*object, "strategy"))
    if (!reader.readString(*v, path + ".strategy", strategy))
      return false;
  if (strategy == "tensor")
    out.strategy = LlmInputConfig::Strategy::Tensor;
  else if (strategy == "token")
    out.strategy = LlmInputConfig::Strategy::Token;
  else
    return reader.fail(path + ".strategy", "must be tensor or token, got " + quote(strategy));
  return true;
}

std::string formatBound(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

/// One parameter's value against its schema entry.
bool readParam(JsonReader &reader, const AlgorithmParam &spec, const OJson &value,
               const std::string &path, double &out) {
  if (spec.kind == AlgorithmParam::Kind::Bool) {
    if (!value.is_boolean())
      return reader.fail(path, "must be true or false, got " + describe(value));
    out = value.get<bool>() ? 1 : 0;
    return true;
  }
  if (spec.kind == AlgorithmParam::Kind::Integer) {
    long long v;
    if (!reader.readInt(value, path, v))
      return false;
    out = double(v);
  } else if (!reader.readNumber(value, path, out)) {
    return false;
  }
  bool low = spec.minExclusive ? !(out > spec.min) : !(out >= spec.min);
  bool high = spec.maxExclusive ? !(out < spec.max) : !(out <= spec.max);
  if (low || high) {
    std::string range;
    if (std::isfinite(spec.min) && std::isfinite(spec.max))
      range = (spec.minExclusive ? "(" : "[") + formatBound(spec.min) + ", " +
              formatBound(spec.max) + (spec.maxExclusive ? ")" : "]");
    else if (std::isfinite(spec.min))
      range = std::string(spec.minExclusive ? "> " : ">= ") + formatBound(spec.min);
    else
      range = std::string(spec.maxExclusive ? "< " : "<= ") + formatBound(spec.max);
    return reader.fail(path, "must be " + (std::isfinite(spec.min) && std::isfinite(spec.max)
                                               ? "in " + range
                                               : range) +
                                 ", got " + describe(value));
  }
  return true;
}

/// One algorithm by name, with its parameters (an object, or null when the
/// config lists names only), checked against its registered schema.
bool readAlgorithm(JsonReader &reader, const std::string &name, const OJson *params,
                   const std::string &path, LlmAlgorithm &out) {
  const WeightAlgorithm *weightAlgo = findWeightAlgorithm(name);
  const ActivationAlgorithm *actAlgo = weightAlgo ? nullptr : findActivationAlgorithm(name);
  const std::vector<AlgorithmParam> *schema =
      weightAlgo ? &weightAlgo->params : actAlgo ? &actAlgo->params : nullptr;
  if (!schema) {
    std::string known;
    for (const std::string &n : registeredAlgorithmNames())
      known += (known.empty() ? "" : ", ") + n;
    return reader.fail(path, "unknown algorithm " + quote(name) + " (known: " + known +
                                 "; user algorithms come from --plugin)");
  }
  out.name = name;
  out.kind = name == "minmax"        ? LlmAlgorithm::Kind::MinMax
             : name == "awq"         ? LlmAlgorithm::Kind::Awq
             : name == "gptq"        ? LlmAlgorithm::Kind::Gptq
             : name == "smoothquant" ? LlmAlgorithm::Kind::SmoothQuant
             : actAlgo               ? LlmAlgorithm::Kind::UserActivation
                                     : LlmAlgorithm::Kind::User;
  std::vector<const char *> keys;
  for (const AlgorithmParam &p : *schema)
    keys.push_back(p.name.c_str());
  const OJson::object_t *object = nullptr;
  if (params && !params->is_null()) {
    if (!(object = params->get_ptr<const OJson::object_t *>()))
      return reader.fail(path, "expected an object of parameters, got " + describe(*params));
    for (const auto &m : *object)
      if (std::none_of(keys.begin(), keys.end(),
                       [&](const char *k) { return m.first == k; })) {
        std::string allowed;
        for (const char *k : keys)
          allowed += std::string(allowed.empty() ? "" : ", ") + k;
        return reader.fail(path + "." + m.first,
                           "unknown parameter of " + quote(name) + " (" +
                               (allowed.empty() ? std::string("it takes none") : "known: " + allowed) +
                               ")");
      }
  }
  for (const AlgorithmParam &p : *schema) {
    const OJson *v = object ? member(*object, p.name.c_str()) : nullptr;
    double value = p.defaultValue;
    if (v && !readParam(reader, p, *v, path + "." + p.name, value))
      return false;
    if (v || !std::isnan(value))
      out.params[p.name] = value;
  }
  if (auto it = out.params.find("grids_num"); it != out.params.end())
    out.gridsNum = int64_t(it->second);
  if (auto it = out.params.find("clip"); it != out.params.end())
    out.clip = it->second != 0;
  if (auto it = out.params.find("smooth_strength"); it != out.params.end())
    out.smoothStrength = it->second;
  return true;
}

bool readAlgorithms(JsonReader &reader, const OJson &value, std::vector<LlmAlgorithm> &out) {
  const std::string path = "algorithm";
  auto add = [&](const std::string &name, const OJson *params, const std::string &at) {
    LlmAlgorithm a;
    if (!readAlgorithm(reader, name, params, at, a))
      return false;
    for (const LlmAlgorithm &b : out)
      if (b.name == a.name)
        return reader.fail(at, "algorithm " + quote(name) + " is named twice");
    out.push_back(a);
    return true;
  };
  if (const auto *s = value.get_ptr<const OJson::string_t *>())
    return add(*s, nullptr, path);
  if (const auto *array = value.get_ptr<const OJson::array_t *>()) {
    for (size_t i = 0; i < array->size(); ++i) {
      std::string name;
      std::string at = path + "[" + std::to_string(i) + "]";
      if (!reader.readString((*array)[i], at, name) || !add(name, nullptr, at))
        return false;
    }
    return true;
  }
  if (const auto *object = value.get_ptr<const OJson::object_t *>()) {
    for (const auto &m : *object)
      if (!add(m.first, &m.second, path + "." + m.first))
        return false;
    return true;
  }
  return reader.fail(path, "expected an algorithm name, a list of names or an object of "
                           "name -> parameters, got " + describe(value));
}

} // namespace

const LlmAlgorithm *LlmQuantConfig::userAlgorithm() const {
  for (const LlmAlgorithm &a : algorithms)
    if (a.kind == LlmAlgorithm::Kind::User)
      return &a;
  return nullptr;
}

const LlmAlgorithm *LlmQuantConfig::userActivationAlgorithm() const {
  for (const LlmAlgorithm &a : algorithms)
    if (a.kind == LlmAlgorithm::Kind::UserActivation)
      return &a;
  return nullptr;
}

bool LlmQuantConfig::uses(LlmAlgorithm::Kind kind) const {
  for (const LlmAlgorithm &a : algorithms)
    if (a.kind == kind)
      return true;
  return false;
}

std::string LlmQuantConfig::layerProblem(int64_t k, int64_t n) const {
  if (inputs) {
    // W8A8: the int8 x int8 matmul (QuantBatchMatmulV3) has no K / N
    // multiples; its integer accumulators bound K.
    if (k > 65535)
      return "the Ascend int8 matmul takes K up to 65535 (K = " + std::to_string(k) + ")";
    return "";
  }
  if (weights.strategy == LlmWeightConfig::Strategy::Group && weights.groupSize > k - 1)
    return "group_size " + std::to_string(weights.groupSize) + " exceeds K - 1 = " +
           std::to_string(k - 1) + " (K = " + std::to_string(k) + " input channels)";
  int64_t multiple = weights.bits == 4 ? 64 : 32;
  if (k % multiple || n % multiple)
    return "the Ascend weight-quant kernel needs K and N multiples of " +
           std::to_string(multiple) + " for int" + std::to_string(weights.bits) +
           " weights (K = " + std::to_string(k) + ", N = " + std::to_string(n) + ")";
  if (k > 65535 || n > 65535)
    return "the Ascend weight-quant kernel takes K and N up to 65535 (K = " +
           std::to_string(k) + ", N = " + std::to_string(n) + ")";
  return "";
}

std::optional<LlmQuantConfig> amct::parseLlmConfig(const std::string &text,
                                                   const std::string &fileName,
                                                   std::string &error) {
  OJson root;
  if (!parseJsonStrict(text, fileName, root, error))
    return std::nullopt;
  JsonReader reader(fileName, error);
  const OJson::object_t *top = reader.readObject(root, "config", kTopKeys);
  if (!top)
    return std::nullopt;
  LlmQuantConfig config;
  if (const OJson *v = member(*top, "batch_num")) {
    long long b;
    if (!reader.readInt(*v, "batch_num", b))
      return std::nullopt;
    if (b < 1) {
      reader.fail("batch_num", "must be at least 1, got " + std::to_string(b));
      return std::nullopt;
    }
    config.batchNum = b;
  }
  const OJson *quantCfg = member(*top, "quant_cfg");
  if (!quantCfg) {
    reader.fail("config", "\"quant_cfg\" is required");
    return std::nullopt;
  }
  const OJson::object_t *qc = reader.readObject(*quantCfg, "quant_cfg", kQuantCfgKeys);
  if (!qc)
    return std::nullopt;
  const OJson *weights = member(*qc, "weights");
  if (!weights) {
    reader.fail("quant_cfg", "\"weights\" is required: every legal combination quantizes "
                             "the weights (int4 or int8)");
    return std::nullopt;
  }
  if (!readWeights(reader, *weights, config.weights))
    return std::nullopt;
  if (const OJson *inputs = member(*qc, "inputs")) {
    LlmInputConfig in;
    if (!readInputs(reader, *inputs, in))
      return std::nullopt;
    config.inputs = in;
  }
  if (const OJson *algo = member(*top, "algorithm"))
    if (!readAlgorithms(reader, *algo, config.algorithms))
      return std::nullopt;
  if (config.algorithms.empty()) {
    LlmAlgorithm minmax;
    minmax.kind = LlmAlgorithm::Kind::MinMax;
    minmax.name = "minmax";
    config.algorithms.push_back(minmax);
  }
  if (const OJson *skip = member(*top, "skip_layers")) {
    const auto *array = skip->get_ptr<const OJson::array_t *>();
    if (!array) {
      reader.fail("skip_layers", "expected a list of layer-name substrings, got " +
                                     describe(*skip));
      return std::nullopt;
    }
    for (size_t i = 0; i < array->size(); ++i) {
      std::string s;
      if (!reader.readString((*array)[i], "skip_layers[" + std::to_string(i) + "]", s))
        return std::nullopt;
      config.skipLayers.push_back(s);
    }
  }

  // Reference 000's table of legal combinations.
  bool w8a8 = config.inputs.has_value();
  if (w8a8 && config.weights.bits == 4) {
    reader.fail("quant_cfg.inputs", "int4 weights are weight-only: inputs cannot be "
                                    "quantized with them (use int8 weights for W8A8)");
    return std::nullopt;
  }
  if (w8a8 && config.weights.strategy == LlmWeightConfig::Strategy::Group) {
    reader.fail("quant_cfg.weights.strategy",
                "with quantized inputs (W8A8) the weights are per tensor or per channel, "
                "not per group");
    return std::nullopt;
  }
  if (w8a8 && !config.weights.symmetric) {
    reader.fail("quant_cfg.weights.symmetric",
                "with quantized inputs (W8A8) the weights are symmetric: the int8 matmul's "
                "dequantization has no weight offset");
    return std::nullopt;
  }
  for (const LlmAlgorithm &a : config.algorithms) {
    bool weightOnlyAlgo = a.kind == LlmAlgorithm::Kind::Awq || a.kind == LlmAlgorithm::Kind::Gptq;
    if (w8a8 && weightOnlyAlgo) {
      reader.fail("algorithm", std::string(a.kind == LlmAlgorithm::Kind::Awq ? "awq" : "gptq") +
                                   " is a weight-only algorithm; with quantized inputs "
                                   "(W8A8) use minmax or smoothquant");
      return std::nullopt;
    }
    if (!w8a8 && a.kind == LlmAlgorithm::Kind::SmoothQuant) {
      reader.fail("algorithm", "smoothquant moves difficulty from the inputs to the weights: "
                               "it needs quantized inputs (quant_cfg.inputs, int8)");
      return std::nullopt;
    }
  }
  // One algorithm chooses the weights' values.
  std::vector<std::string> choosers;
  for (const LlmAlgorithm &a : config.algorithms)
    if (a.kind == LlmAlgorithm::Kind::Awq || a.kind == LlmAlgorithm::Kind::Gptq ||
        a.kind == LlmAlgorithm::Kind::User)
      choosers.push_back(a.name);
  if (choosers.size() > 1) {
    reader.fail("algorithm", choosers[0] + " and " + choosers[1] +
                                 " both choose the weights' values; name one");
    return std::nullopt;
  }
  if (const LlmAlgorithm *act = config.userActivationAlgorithm()) {
    if (!w8a8 || config.inputs->strategy != LlmInputConfig::Strategy::Tensor) {
      reader.fail("algorithm", "activation algorithm " + quote(act->name) +
                                   " chooses per-tensor input parameters: it needs "
                                   "quant_cfg.inputs with strategy tensor");
      return std::nullopt;
    }
    int count = 0;
    for (const LlmAlgorithm &a : config.algorithms)
      count += a.kind == LlmAlgorithm::Kind::UserActivation;
    if (count > 1) {
      reader.fail("algorithm", "name one activation algorithm");
      return std::nullopt;
    }
  }
  if (w8a8 && config.userAlgorithm()) {
    reader.fail("algorithm", "user algorithm " + quote(config.userAlgorithm()->name) +
                                 " quantizes weights only; with quantized inputs (W8A8) use "
                                 "minmax or smoothquant");
    return std::nullopt;
  }
  return config;
}
