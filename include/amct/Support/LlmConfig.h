//===- LlmConfig.h - AMCT's quantize() config for language models -*- C++ -*-===//
//
// The JSON config of AMCT's language-model API (reference 002):
//
//   {"batch_num": 1,
//    "quant_cfg": {"weights": {"type": "int4", "symmetric": true,
//                              "strategy": "group", "group_size": 128},
//                  "inputs": {"type": "int8", "symmetric": true, "strategy": "token"}},
//    "algorithm": "gptq" | ["awq", ...] | {"awq": {"grids_num": 20}, ...},
//    "skip_layers": ["lm_head"]}
//
// validated against reference 000's table of legal combinations: int4
// weights are weight-only; int8 weights alone take any strategy and minmax,
// awq or gptq; int8 weights with int8 inputs take strategy tensor or channel
// and minmax or smoothquant, symmetric, inputs per tensor or per token.
// Every violation
// is an error naming the key, the value and the rule.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_LLMCONFIG_H
#define AMCT_SUPPORT_LLMCONFIG_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace amct {

struct LlmWeightConfig {
  int bits = 8;           // "type": int4 or int8
  bool symmetric = true;  // default true
  enum class Strategy { Tensor, Channel, Group } strategy = Strategy::Channel;
  int64_t groupSize = 0;  // strategy group only; a multiple of 32, >= 32
};

struct LlmInputConfig {
  bool symmetric = true;
  enum class Strategy { Tensor, Token } strategy = Strategy::Tensor;
};

struct LlmAlgorithm {
  /// User: a weight algorithm registered through AlgorithmRegistry
  /// (amct/Support/AlgorithmRegistry.h), by `name` with `params`.
  /// UserActivation: a registered activation algorithm (W8A8 per-tensor
  /// input parameters).
  enum class Kind { MinMax, Awq, Gptq, SmoothQuant, User, UserActivation } kind = Kind::MinMax;
  std::string name;
  /// Every parameter of the algorithm's schema (defaults filled).
  std::map<std::string, double> params;
  int64_t gridsNum = 20;        // awq
  /// awq and gptq: the clipping search of each group's range ("clip", our
  /// extension of AMCT's keys, on by default; false gives AMCT's algorithm;
  /// docs/LlmQuantization.md has the figures).
  bool clip = true;
  /// smoothquant, in (0, 1). Absent: AMCT's 0.5 for per-token inputs; for
  /// per-tensor inputs chosen per input group from 0.1, 0.2, ..., 0.9 by
  /// the output error of the quantized layers on the calibration inputs
  /// (our extension; docs/LlmQuantization.md has the figures).
  std::optional<double> smoothStrength;
};

struct LlmQuantConfig {
  int64_t batchNum = 1;
  LlmWeightConfig weights;
  /// Present for W8A8 (act_type int8); absent for weight-only.
  std::optional<LlmInputConfig> inputs;
  /// minmax when the config names none.
  std::vector<LlmAlgorithm> algorithms;
  /// A layer whose name contains one of these is not quantized.
  std::vector<std::string> skipLayers;

  bool uses(LlmAlgorithm::Kind kind) const;
  /// The registered (user) weight algorithm the config names, or null.
  const LlmAlgorithm *userAlgorithm() const;
  /// The registered activation algorithm the config names, or null.
  const LlmAlgorithm *userActivationAlgorithm() const;
  /// Why a Linear layer with K input and N output channels cannot take this
  /// config, or empty: group_size must be in [32, K - 1]; the Ascend
  /// weight-quant kernels need K and N multiples of 32 (int8) or 64 (int4)
  /// and at most 65535; the W8A8 matmul takes K up to 65535.
  std::string layerProblem(int64_t k, int64_t n) const;
};

/// Parses and validates the config text (`fileName` prefixes messages).
std::optional<LlmQuantConfig> parseLlmConfig(const std::string &text,
                                             const std::string &fileName, std::string &error);

} // namespace amct

#endif // AMCT_SUPPORT_LLMCONFIG_H
