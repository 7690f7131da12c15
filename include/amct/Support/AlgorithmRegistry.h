//===- AlgorithmRegistry.h - user quantization algorithms -------*- C++ -*-===//
//
// AMCT's algorithm_register (reference 000) for the language-model flow. A
// weight algorithm is a name, a schema of its parameters (which the config
// validator checks, as it checks the built-in ones'), whether it needs the
// layer's calibration inputs, and a function from a Linear layer's float
// weight [K, N] (and those inputs) to its integers and scales; an
// activation algorithm maps the calibration values of a W8A8 layer's input
// to its per-tensor int8 scale and offset. The built-in
// algorithms (minmax, awq, gptq, smoothquant) are registered here too, with
// their schemas, so a config names any of them the same way:
//
//   {"quant_cfg": {"weights": {"type": "int4", "strategy": "group", "group_size": 32}},
//    "algorithm": {"my_rtn": {"ratio": 0.9}}}
//
// Plugins are shared libraries loaded with `amct quantize --plugin P.so`;
// each defines
//
//   extern "C" bool amct_register_algorithms(amct::AlgorithmRegistry &registry,
//                                            std::string &error);
//
// and calls registry.addWeightAlgorithm(...) (a virtual call: a plugin
// needs these headers only, no library of ours). A plugin is built with
// the same compiler and standard library as amct (the types here are C++).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_ALGORITHMREGISTRY_H
#define AMCT_SUPPORT_ALGORITHMREGISTRY_H

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace amct {

/// One parameter of an algorithm, as its config object may give it.
struct AlgorithmParam {
  std::string name;
  enum class Kind { Number, Integer, Bool } kind = Kind::Number;
  /// Allowed range (numbers and integers); exclusive bounds when set.
  double min = -INFINITY, max = INFINITY;
  bool minExclusive = false, maxExclusive = false;
  /// The value when the config leaves it out (Bool: 0 or 1).
  double defaultValue = 0;
};

/// Parameter values by name, every schema parameter present (defaults
/// filled); Bool as 0 / 1.
using AlgorithmParams = std::map<std::string, double>;

/// What a weight algorithm gets for one Linear layer.
struct WeightAlgorithmInput {
  std::string layer;
  /// The float weight, [K, N] row-major (input channels as rows).
  const float *weight = nullptr;
  int64_t k = 0, n = 0;
  /// The config's weights: 4 or 8 bits, symmetric or not, and the
  /// granularity: groupSize > 0 groups of input channels, 0 per output
  /// channel, -1 per tensor.
  int bits = 8;
  bool symmetric = true;
  int64_t groupSize = 0;
  /// With needsInputs: the layer's calibration inputs, [rows, K].
  const float *inputs = nullptr;
  int64_t rows = 0;
  const AlgorithmParams *params = nullptr;
};

/// What it returns: the integers and their parameters, laid out as the
/// built-in algorithms' (scale / offset: 1 per tensor, N per channel,
/// ceil(K / G) * N per group, group-major: entry g * N + n).
struct WeightAlgorithmOutput {
  std::vector<int8_t> q; // [K, N], each in the bits' signed range
  std::vector<float> scale;
  std::vector<int32_t> offset; // empty: all 0
};

struct WeightAlgorithm {
  std::string name;
  std::vector<AlgorithmParam> params;
  /// Whether `run` needs the layer's calibration inputs (the model is then
  /// run on the calibration batches, each layer seeing the outputs of the
  /// quantized layers before it).
  bool needsInputs = false;
  /// Fills `out`, or returns false with `error` set. Empty for the
  /// built-in algorithms, which the pipeline runs itself.
  std::function<bool(const WeightAlgorithmInput &in, WeightAlgorithmOutput &out,
                     std::string &error)>
      run;
  /// Who registered it ("built-in", the plugin's path, or what the
  /// registering code says, e.g. "Python function f").
  std::string origin;
};

/// What an activation algorithm gets for one input group of W8A8 layers
/// with per-tensor inputs: the calibration values of that input (rows of K
/// channels, SmoothQuant's division already applied), to choose the int8
/// scale and offset the deploy model's AscendQuant uses.
struct ActivationAlgorithmInput {
  std::string layer; // the group's first layer
  const float *values = nullptr;
  int64_t rows = 0, k = 0;
  int bits = 8;
  bool symmetric = true;
  const AlgorithmParams *params = nullptr;
};

struct ActivationAlgorithmOutput {
  float scale = 1.0f;
  int32_t offset = 0; // 0 when symmetric
};

struct ActivationAlgorithm {
  std::string name;
  std::vector<AlgorithmParam> params;
  std::function<bool(const ActivationAlgorithmInput &in, ActivationAlgorithmOutput &out,
                     std::string &error)>
      run;
  std::string origin;
};

class AlgorithmRegistry {
public:
  virtual ~AlgorithmRegistry() = default;
  /// Adds `algorithm`; false with `error` when the name is empty, taken
  /// (built-in or registered before, of either kind) or the algorithm has
  /// no function.
  virtual bool addWeightAlgorithm(WeightAlgorithm algorithm, std::string &error) = 0;
  /// The same for an algorithm choosing W8A8's per-tensor input parameters.
  virtual bool addActivationAlgorithm(ActivationAlgorithm algorithm, std::string &error) = 0;
};

/// The signature of a plugin's `amct_register_algorithms`.
using RegisterAlgorithmsFn = bool (*)(AlgorithmRegistry &registry, std::string &error);
constexpr const char *kRegisterAlgorithmsSymbol = "amct_register_algorithms";

/// The process's registry, the built-in algorithms in it.
AlgorithmRegistry &algorithmRegistry();
/// A registered weight algorithm by name, or null.
const WeightAlgorithm *findWeightAlgorithm(const std::string &name);
/// A registered activation algorithm by name, or null.
const ActivationAlgorithm *findActivationAlgorithm(const std::string &name);
/// Every registered name, sorted.
std::vector<std::string> registeredAlgorithmNames();
/// Loads plugin `path` and runs its registration; false with `error`
/// (naming the file) when it cannot be loaded, lacks the symbol, or its
/// registration fails.
bool loadAlgorithmPlugin(const std::string &path, std::string &error);

} // namespace amct

#endif // AMCT_SUPPORT_ALGORITHMREGISTRY_H
