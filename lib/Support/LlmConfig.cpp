//===- LlmConfig.cpp - AMCT's quantize() config for language models -------===//
//
// Keys and values as reference 002 lists them, combinations as reference
// 000's table allows them. Defaults where the references give none:
// symmetric true, weight strategy channel, input strategy tensor, batch_num
// 1, algorithm minmax (docs/Quantization.md says so).
//
//===----------------------------------------------------------------------===//

#include "amct/Support/LlmConfig.h"
#include "StrictJson.h"

using namespace amct;
using namespace amct::detail;

namespace {

const char *const kTopKeys[] = {"batch_num", "quant_cfg", "algorithm", "skip_layers"};
const char *const kQuantCfgKeys[] = {"weights", "inputs"};
const char *const kWeightKeys[] = {"type", "symmetric", "strategy", "group_size"};
const char *const kInputKeys[] = {"type", "symmetric", "strategy"};
const char *const kAlgorithms[] = {"minmax", "awq", "gptq", "smoothquant"};

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

/// One algorithm by name, with its parameters (an object, or null when the
/// config lists names only).
bool readAlgorithm(JsonReader &reader, const std::string &name, const OJson *params,
                   const std::string &path, LlmAlgorithm &out) {
  if (!isOneOf(name, kAlgorithms))
    return reader.fail(path, "unknown algorithm " + quote(name) +
                                 " (known: " + joinKeys(kAlgorithms) + ")");
  out.kind = name == "minmax" ? LlmAlgorithm::Kind::MinMax
             : name == "awq"  ? LlmAlgorithm::Kind::Awq
             : name == "gptq" ? LlmAlgorithm::Kind::Gptq
                              : LlmAlgorithm::Kind::SmoothQuant;
  if (!params || params->is_null())
    return true;
  static const char *const kNone[] = {""};
  static const char *const kAwq[] = {"grids_num", "clip"};
  static const char *const kGptq[] = {"clip"};
  static const char *const kSmooth[] = {"smooth_strength"};
  const OJson::object_t *object =
      out.kind == LlmAlgorithm::Kind::Awq           ? reader.readObject(*params, path, kAwq)
      : out.kind == LlmAlgorithm::Kind::Gptq        ? reader.readObject(*params, path, kGptq)
      : out.kind == LlmAlgorithm::Kind::SmoothQuant ? reader.readObject(*params, path, kSmooth)
                                                    : reader.readObject(*params, path, kNone);
  if (!object)
    return false;
  if (const OJson *v = member(*object, "grids_num")) {
    long long g;
    if (!reader.readInt(*v, path + ".grids_num", g))
      return false;
    if (g < 1)
      return reader.fail(path + ".grids_num", "must be at least 1, got " + std::to_string(g));
    out.gridsNum = g;
  }
  if (const OJson *v = member(*object, "clip")) {
    if (!v->is_boolean())
      return reader.fail(path + ".clip", "must be true or false, got " + describe(*v));
    out.clip = v->get<bool>();
  }
  if (const OJson *v = member(*object, "smooth_strength")) {
    double s = 0;
    if (!reader.readNumber(*v, path + ".smooth_strength", s))
      return false;
    if (!(s > 0 && s < 1))
      return reader.fail(path + ".smooth_strength",
                         "must be in (0, 1), got " + describe(*v));
    out.smoothStrength = s;
  }
  return true;
}

bool readAlgorithms(JsonReader &reader, const OJson &value, std::vector<LlmAlgorithm> &out) {
  const std::string path = "algorithm";
  auto add = [&](const std::string &name, const OJson *params, const std::string &at) {
    LlmAlgorithm a;
    if (!readAlgorithm(reader, name, params, at, a))
      return false;
    for (const LlmAlgorithm &b : out)
      if (b.kind == a.kind)
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
  if (config.uses(LlmAlgorithm::Kind::Awq) && config.uses(LlmAlgorithm::Kind::Gptq)) {
    reader.fail("algorithm", "awq and gptq both choose the weights' values; name one");
    return std::nullopt;
  }
  return config;
}
