//===- QuantConfig.h - AMCT quantization configs ----------------*- C++ -*-===//
//
// The post-training quantization config in its two AMCT forms:
//
//  * the per-layer JSON config that AMCT's create_quant_config writes and
//    quantize_model reads (reference 004, DESIGN.md section 6);
//  * the simple config `.cfg` (protobuf text of AMCTConfig,
//    lib/Support/proto/amct_config.proto), which create_quant_config expands
//    over the model's quantizable layers into the JSON form.
//
// Both end up as a QuantConfig. Free of MLIR, of protobuf in this header and
// of exceptions: failures return nullopt/false and a message that starts with
// the file's name and names the key (`conv1.activation_quant_params.num_bits`)
// or the line and column, and what was expected.
//
// Layers are identified by name and by AMCT's type names (see
// quantizableLayerTypes()); the caller maps its graph to these.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_QUANTCONFIG_H
#define AMCT_SUPPORT_QUANTCONFIG_H

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace amct {

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

/// `activation_quant_params` of one layer. Which of the IFMR and HFMG fields
/// matter depends on `algo`; the other group keeps its defaults.
struct ActivationQuantParams {
  /// Only 8 is accepted (AMCT also allows 4 and 16 on some targets).
  int numBits = 8;
  /// "ifmr" or "hfmg".
  std::string algo = "ifmr";
  // IFMR.
  double maxPercentile = 0.999999;
  double minPercentile = 0.999999;
  double searchRangeStart = 0.7;
  double searchRangeEnd = 1.3;
  double searchStep = 0.01;
  // HFMG: 1024, 2048, 4096 or 8192 histogram bins.
  int numOfBins = 4096;
  /// Whether activations get an offset: the effective value once parsed
  /// (the layer's own `asymmetric`, else the global `activation_offset`;
  /// always false for Conv3d, which Ascend quantizes symmetrically only).
  bool asymmetric = false;
  /// Whether the layer itself said `asymmetric`.
  bool asymmetricSet = false;
};

/// `weight_quant_params` of one layer.
struct WeightQuantParams {
  /// Only 8 is accepted (AMCT also allows 4, 6, 7 on some targets).
  int numBits = 8;
  /// "arq_quantize" or "ada_quantize".
  std::string algo = "arq_quantize";
  /// Per output channel scales. The effective value once bound to layer
  /// types (the layer's own `channel_wise`, else true for Conv2d, Conv3d and
  /// ConvTranspose2d and false for Linear and AvgPool2d).
  bool channelWise = true;
  /// Whether the layer itself said `channel_wise`.
  bool channelWiseSet = false;
  // ADA (adaptive rounding) keys: parsed, validated and written back so
  // AMCT files round-trip; amct-mlir does not implement ADA itself.
  int numIteration = 10000;
  double regParam = 0.01;
  double betaRangeStart = 20;
  double betaRangeEnd = 2;
  double warmStart = 0.2;
};

/// `dmq_balancer_param`: the DMQ balancer's migration strength, present (and
/// in [0.2, 0.8]) when the balancer is enabled for the layer.
struct DmqParams {
  bool enabled = false;
  double migrationStrength = 0.5;
};

/// One layer's entry.
struct LayerQuantConfig {
  /// AMCT quantizes a layer only if its entry says `"quant_enable": true`;
  /// a JSON entry without the key is parsed as false, as AMCT does.
  bool quantEnable = true;
  ActivationQuantParams act;
  WeightQuantParams wts;
  DmqParams dmq;
};

// Which AMCT layer types (LayerKind names) take which settings.
/// AMCT's default: per-channel weights for the convolutions.
inline bool isChannelWiseType(const std::string &type) {
  return type == "Conv2d" || type == "Conv3d" || type == "ConvTranspose2d";
}
/// Where per-channel weights may be asked for: the convolutions and, an
/// extension of AMCT (whose CNN flow refuses it, though its language-model
/// flow and the NPU's per-channel dequant do it), Linear.
inline bool allowsChannelWise(const std::string &type) {
  return isChannelWiseType(type) || type == "Linear";
}
inline bool isAdaType(const std::string &type) {
  return type == "Conv2d" || type == "ConvTranspose2d" || type == "Linear";
}
/// Ascend quantizes Conv3d activations symmetrically only (AMCT's
/// SYMMETRIC_LIMIT_TYPES).
inline bool isSymmetricOnlyType(const std::string &type) { return type == "Conv3d"; }
/// DMQ scales weights: layers without weights cannot use it.
inline bool isDmqType(const std::string &type) { return type != "AvgPool2d"; }

/// A whole config: the global keys and one entry per layer. Layers missing
/// from `layers`, or present with `quantEnable == false`, are not quantized.
struct QuantConfig {
  /// Always 1 (AMCT rejects any other version).
  int version = 1;
  int batchNum = 1;
  bool activationOffset = true;
  bool doFusion = true;
  std::vector<std::string> skipFusionLayers;
  /// Ordered by name, the order AMCT writes them in.
  std::map<std::string, LayerQuantConfig> layers;

  /// The layer's entry, or null.
  const LayerQuantConfig *find(const std::string &layerName) const;
  /// Whether the layer is to be quantized.
  bool isQuantized(const std::string &layerName) const;
};

/// A model's quantizable layers as (layer name, AMCT layer type) in graph
/// order, e.g. {"conv1", "Conv2d"}, {"fc", "Linear"}.
using LayerList = std::vector<std::pair<std::string, std::string>>;

/// AMCT's PTQ layer types (reference 004): "Conv2d", "Conv3d",
/// "ConvTranspose2d", "Linear", "AvgPool2d". The caller maps ONNX nodes onto
/// them (Conv by rank, ConvTranspose 2-D, Gemm and MatMul with a constant
/// weight -> Linear, AveragePool 2-D).
const std::vector<std::string> &quantizableLayerTypes();

//===----------------------------------------------------------------------===//
// JSON config
//===----------------------------------------------------------------------===//

/// Parses AMCT's per-layer JSON config. Checks everything that does not need
/// the model: JSON syntax (errors give line:col), duplicate keys, unknown keys
/// at every level (the message lists the allowed ones), value types and
/// ranges as AMCT's config fields do (version 1; batch_num >= 1; num_bits 8;
/// percentiles in (0.5, 1.0]; search_range two numbers with
/// 0 < start < end; 0 < search_step <= end - start; act_algo ifmr|hfmg and
/// no IFMR key next to an HFMG one; num_of_bins 1024|2048|4096|8192;
/// wts_algo arq_quantize|ada_quantize and ADA keys only with ada_quantize;
/// dmq_balancer_param in [0.2, 0.8]). Top-level keys other than version,
/// batch_num, activation_offset, do_fusion and skip_fusion_layers are layer
/// names and must hold objects. `asymmetric` is resolved against
/// activation_offset; channel_wise still needs bindQuantConfigToLayers.
std::optional<QuantConfig> parseQuantConfigJson(const std::string &text,
                                                const std::string &fileName,
                                                std::string &error);

/// The checks and defaults that need the model, done by AMCT against its
/// graph: every layer entry and skip_fusion_layers entry names a layer of
/// `layers`; channel_wise is true only for Conv2d, Conv3d, ConvTranspose2d
/// and defaults by type; Conv3d is symmetric only (asymmetric true is an
/// error, unset becomes false); dmq_balancer_param not on AvgPool2d;
/// ada_quantize only on Conv2d, ConvTranspose2d, Linear.
bool bindQuantConfigToLayers(QuantConfig &config, const LayerList &layers,
                             const std::string &fileName, std::string &error);

/// Writes the JSON config as AMCT does (Python's json.dump with indent=4,
/// separators=(',', ':'), ensure_ascii): global keys first, then the layers
/// by name, keys in AMCT's order, only the keys of the layer's algorithms,
/// floats as Python's repr. No trailing newline (AMCT writes none).
std::string writeQuantConfigJson(const QuantConfig &config);

//===----------------------------------------------------------------------===//
// Simple config (.cfg) and create_quant_config
//===----------------------------------------------------------------------===//

/// Parses a simple config (protobuf text of AMCTConfig; syntax errors and
/// unknown fields give line:col) and expands it over `layers` the way AMCT's
/// create_quant_config(config_defination=...) does:
///  * each layer takes the whole CalibrationConfig of its
///    override_layer_configs entry, else of its type's override_layer_types
///    entry, else common_config (configs are not merged field by field;
///    unset algorithms get their defaults);
///  * skip_layers and skip_layer_types layers keep an entry with
///    quantEnable = false (AMCT writes them so); at least one layer must
///    remain;
///  * names in skip_layers, override_layer_configs and skip_fusion_layers
///    must be layers of `layers`, types in skip_layer_types and
///    override_layer_types must be quantizable types; no name or type twice;
///  * asymmetric: the layer's config, else common_config's when both use the
///    same activation algorithm, else activation_offset; Conv3d never;
///  * a common/type dmq_balancer is dropped on AvgPool2d (it has no weights),
///    an ada_quantize one falls back to ARQ on layers ADA does not support;
///    the same in override_layer_configs, or by type in override_layer_types,
///    is an error.
/// Values are checked with the same rules as the JSON config.
/// fakequant_precision_mode, quant_bits other than 8 and dst_type INT16 are
/// rejected as unsupported.
std::optional<QuantConfig> parseSimpleConfig(const std::string &text,
                                             const std::string &fileName,
                                             const LayerList &layers,
                                             std::string &error);

/// create_quant_config without a simple config: every layer of `layers` with
/// AMCT's defaults (IFMR, ARQ, asymmetric = activationOffset), those in
/// `skipLayers` with quantEnable = false. Errors name unknown or repeated
/// skip layers, batchNum < 1, or that nothing is left to quantize.
std::optional<QuantConfig>
createQuantConfig(const LayerList &layers,
                  const std::vector<std::string> &skipLayers, int batchNum,
                  bool activationOffset, std::string &error);

//===----------------------------------------------------------------------===//
// Either form
//===----------------------------------------------------------------------===//

enum class ConfigKind {
  /// A JSON object: AMCT's per-layer config.
  LayerJson,
  /// Protobuf text: the simple config.
  SimpleCfg,
  /// A JSON object with "quant_cfg": the LLM quantize() config (reference
  /// 002), which this file does not parse.
  LlmJson,
  /// Empty, or neither.
  Unknown,
};

/// Which kind a config is, from its content alone: the first character that
/// is not white space (or part of a `#` comment) is `{` for JSON and a
/// letter or `_` for protobuf text. Malformed JSON is still LayerJson, so
/// its parser reports the syntax error.
ConfigKind detectConfigKind(const std::string &text);

/// Parses either kind by content and returns a config ready to use: a JSON
/// config is bound to `layers`, a simple config expanded over them. An LLM
/// config or unrecognised content is an error.
std::optional<QuantConfig> loadQuantConfig(const std::string &text,
                                           const std::string &fileName,
                                           const LayerList &layers,
                                           std::string &error);

/// loadQuantConfig on the contents of the file at `path`; the default config
/// (create_quant_config's, every layer quantized) when `path` is empty. The
/// one loader every tool and pass uses.
std::optional<QuantConfig> loadQuantConfigFile(const std::string &path,
                                               const LayerList &layers,
                                               std::string &error);

//===----------------------------------------------------------------------===//
// Number formatting shared with the record file
//===----------------------------------------------------------------------===//

/// Python's repr() of a double: the shortest digits that read back to the
/// same double, positional for exponents -4..15 ("0.0001", "1.0",
/// "123.5"), else scientific ("1e-05", "1.5e+16"); "inf", "-inf", "nan".
std::string formatDoubleRepr(double value);

/// The same for a float: the shortest digits that read back, through a
/// double as protobuf's text parser reads them, to the same float
/// ("0.33333334", "1e-38"), what Python protobuf writes for float fields.
std::string formatFloatRepr(float value);

/// The double nearest to the shortest decimal of a float (0.999999f ->
/// 0.999999, not 0.99999898672...), as AMCT turns proto floats into Python
/// floats.
double floatToShortestDouble(float value);

} // namespace amct

#endif // AMCT_SUPPORT_QUANTCONFIG_H
