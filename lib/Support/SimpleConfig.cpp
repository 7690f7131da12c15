//===- SimpleConfig.cpp - AMCT simple .cfg config -------------------------===//
//
// The protobuf-text simple config (amct_config.proto), checked with the
// same rules as the JSON form and expanded over the model's layers.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "amct/Support/KvCacheConfig.h"
#include "ConfigRules.h"
#include "ProtoText.h"

#include "amct_config.pb.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <limits>
#include <set>

using namespace amct;
namespace pb = google::protobuf;
using namespace amct::detail;

//===----------------------------------------------------------------------===//
// Simple config
//===----------------------------------------------------------------------===//

namespace {

using InfoTree = pb::TextFormat::ParseInfoTree;

/// Reports semantic errors of a parsed simple config at the location of the
/// field concerned (when the config came from text).
class CfgReporter {
public:
  CfgReporter(const std::string &fileName, std::string &error)
      : fileName(fileName), error(error) {}

  /// Fails at field `name` (element `index`, -1 if singular) of `message`,
  /// whose parse locations are in `tree` (may be null).
  bool fail(const InfoTree *tree, const pb::Message &message, const char *name,
            int index, const std::string &text) {
    const pb::FieldDescriptor *field =
        message.GetDescriptor()->FindFieldByName(name);
    pb::TextFormat::ParseLocation loc;
    // A list (`skip_layers: ["a", "b"]`) records one location, at index 0:
    // fall back to the nearest earlier one.
    for (int i = index;
         tree && field && loc.line < 0 && i >= std::min(index, 0); --i)
      loc = tree->GetLocation(field, i);
    if (loc.line >= 0)
      error = (fileName.empty() ? std::string("<config>") : fileName) + ":" +
              std::to_string(loc.line + 1) + ":" +
              std::to_string(loc.column + 1) + ": " + text;
    else
      error = prefixed(fileName, text);
    return false;
  }

  /// The locations of the sub-message in field `name` of `message`.
  static const InfoTree *nested(const InfoTree *tree,
                                const pb::Message &message, const char *name,
                                int index = -1) {
    const pb::FieldDescriptor *field =
        message.GetDescriptor()->FindFieldByName(name);
    return tree && field ? tree->GetTreeForNested(field, index) : nullptr;
  }

private:
  const std::string &fileName;
  std::string &error;
};

/// Checks the values of one CalibrationConfig; `path` names it in messages
/// ("common_config", "override_layer_types[Linear].calibration_config").
bool checkCalibration(CfgReporter &r, const InfoTree *tree,
                      const proto::CalibrationConfig &c,
                      const std::string &path) {
  auto sub = [&](const char *field) { return path + "." + field; };

  if (c.has_ifmr_quantize()) {
    const proto::FMRQuantize &q = c.ifmr_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "ifmr_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("ifmr_quantize") + "." + field + ": " + problem);
    };
    double start = floatToShortestDouble(q.search_range_start());
    double end = floatToShortestDouble(q.search_range_end());
    if (!fail("max_percentile",
              checkPercentile(floatToShortestDouble(q.max_percentile()))) ||
        !fail("min_percentile",
              checkPercentile(floatToShortestDouble(q.min_percentile()))) ||
        !fail(q.has_search_range_start() ? "search_range_start"
                                         : "search_range_end",
              checkSearchRange(start, end)) ||
        !fail("search_step",
              checkSearchStep(floatToShortestDouble(q.search_step()), start,
                              end)))
      return false;
    if (q.dst_type() != proto::FMRQuantize::INT8)
      return fail("dst_type", "only INT8 is supported by amct-mlir");
  } else if (c.has_hfmg_quantize()) {
    const proto::HFMGQuantize &q = c.hfmg_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "hfmg_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("hfmg_quantize") + "." + field + ": " + problem);
    };
    if (!fail("num_of_bins", checkNumOfBins(q.num_of_bins())))
      return false;
    if (q.dst_type() != proto::HFMGQuantize::INT8)
      return fail("dst_type", "only INT8 is supported by amct-mlir");
  }

  if (c.has_arq_quantize()) {
    const proto::ARQuantize &q = c.arq_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "arq_quantize");
    if (q.has_quant_bits() && q.quant_bits() != 8)
      return r.fail(t, q, "quant_bits", -1,
                    sub("arq_quantize") + ".quant_bits: " +
                        checkNumBits(q.quant_bits(), "weights"));
  } else if (c.has_ada_quantize()) {
    const proto::ADAquantize &q = c.ada_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "ada_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("ada_quantize") + "." + field + ": " + problem);
    };
    if (!fail("num_iteration", q.num_iteration() >= 1
                                   ? std::string()
                                   : "must be at least 1 (ADA's iterations), got " +
                                         std::to_string(q.num_iteration())) ||
        !fail("reg_param",
              checkOpenUnit(floatToShortestDouble(q.reg_param()))) ||
        !fail("warm_start",
              checkOpenUnit(floatToShortestDouble(q.warm_start()))) ||
        !fail(q.has_beta_range_start() ? "beta_range_start" : "beta_range_end",
              checkBetaRange(floatToShortestDouble(q.beta_range_start()),
                             floatToShortestDouble(q.beta_range_end()))))
      return false;
  }

  if (c.has_dmq_balancer()) {
    const proto::DMQBalancer &q = c.dmq_balancer();
    const InfoTree *t = CfgReporter::nested(tree, c, "dmq_balancer");
    std::string problem =
        checkMigrationStrength(floatToShortestDouble(q.migration_strength()));
    if (!problem.empty())
      return r.fail(t, q, "migration_strength", -1,
                    sub("dmq_balancer") + ".migration_strength: " + problem);
  }
  return true;
}

/// Checks an override's CalibrationConfig against the layer type it applies
/// to (`what` is "a Linear layer" or "layer 'fc' (Linear)").
bool checkCalibrationForType(CfgReporter &r, const InfoTree *tree,
                             const proto::CalibrationConfig &c,
                             const std::string &path, const std::string &type,
                             const std::string &what) {
  if (isSymmetricOnlyType(type)) {
    const pb::Message *q = nullptr;
    const char *algo = nullptr;
    if (c.has_ifmr_quantize() && c.ifmr_quantize().asymmetric()) {
      q = &c.ifmr_quantize();
      algo = "ifmr_quantize";
    } else if (c.has_hfmg_quantize() && c.hfmg_quantize().asymmetric()) {
      q = &c.hfmg_quantize();
      algo = "hfmg_quantize";
    }
    if (q)
      return r.fail(CfgReporter::nested(tree, c, algo), *q, "asymmetric", -1,
                    path + "." + algo + ".asymmetric: must be false for " +
                        what +
                        " (its activations are quantized "
                        "symmetrically only)");
  }
  if (!allowsChannelWise(type)) {
    const pb::Message *q = nullptr;
    const char *algo = nullptr;
    if (c.has_arq_quantize() && c.arq_quantize().channel_wise()) {
      q = &c.arq_quantize();
      algo = "arq_quantize";
    } else if (c.has_ada_quantize() && c.ada_quantize().channel_wise()) {
      q = &c.ada_quantize();
      algo = "ada_quantize";
    }
    if (q)
      return r.fail(CfgReporter::nested(tree, c, algo), *q, "channel_wise", -1,
                    path + "." + algo + ".channel_wise: must be false for " +
                        what +
                        " (per-channel weights are for Conv2d, Conv3d, "
                        "ConvTranspose2d and Linear)");
  }
  if (c.has_dmq_balancer() && !isDmqType(type))
    return r.fail(tree, c, "dmq_balancer", -1,
                  path + ".dmq_balancer: not supported for " + what +
                      " (it has no weights)");
  if (c.has_ada_quantize() && !isAdaType(type))
    return r.fail(tree, c, "ada_quantize", -1,
                  path + ".ada_quantize: not supported for " + what +
                      " (only Conv2d, ConvTranspose2d and Linear)");
  return true;
}

/// A layer's config from the CalibrationConfig it takes (unset algorithms
/// keep their defaults, as AMCT's fill_default gives them).
LayerQuantConfig fromCalibration(const proto::CalibrationConfig &c) {
  LayerQuantConfig layer;
  ActivationQuantParams &act = layer.act;
  if (c.has_ifmr_quantize()) {
    const proto::FMRQuantize &q = c.ifmr_quantize();
    act.algo = "ifmr";
    act.maxPercentile = floatToShortestDouble(q.max_percentile());
    act.minPercentile = floatToShortestDouble(q.min_percentile());
    act.searchRangeStart = floatToShortestDouble(q.search_range_start());
    act.searchRangeEnd = floatToShortestDouble(q.search_range_end());
    act.searchStep = floatToShortestDouble(q.search_step());
    act.asymmetricSet = q.has_asymmetric();
    act.asymmetric = q.asymmetric();
  } else if (c.has_hfmg_quantize()) {
    const proto::HFMGQuantize &q = c.hfmg_quantize();
    act.algo = "hfmg";
    act.numOfBins = static_cast<int>(q.num_of_bins());
    act.asymmetricSet = q.has_asymmetric();
    act.asymmetric = q.asymmetric();
  }
  WeightQuantParams &wts = layer.wts;
  if (c.has_arq_quantize()) {
    wts.channelWiseSet = c.arq_quantize().has_channel_wise();
    wts.channelWise = c.arq_quantize().channel_wise();
  } else if (c.has_ada_quantize()) {
    const proto::ADAquantize &q = c.ada_quantize();
    wts.algo = "ada_quantize";
    wts.numIteration = static_cast<int>(
        std::min<uint32_t>(q.num_iteration(), std::numeric_limits<int>::max()));
    wts.regParam = floatToShortestDouble(q.reg_param());
    wts.betaRangeStart = floatToShortestDouble(q.beta_range_start());
    wts.betaRangeEnd = floatToShortestDouble(q.beta_range_end());
    wts.warmStart = floatToShortestDouble(q.warm_start());
    wts.channelWiseSet = q.has_channel_wise();
    wts.channelWise = q.channel_wise();
  }
  if (c.has_dmq_balancer()) {
    layer.dmq.enabled = true;
    layer.dmq.migrationStrength =
        floatToShortestDouble(c.dmq_balancer().migration_strength());
  }
  return layer;
}

/// create_quant_config's expansion of an AMCTConfig over the model's layers
/// (AMCT's ConfigBase.create_config_from_proto). `tree` holds the text
/// locations when the config was parsed from a file.
std::optional<QuantConfig> expandConfig(const proto::AMCTConfig &cfg,
                                        const InfoTree *tree,
                                        const std::string &fileName,
                                        const LayerList &layers,
                                        std::string &error) {
  CfgReporter r(fileName, error);
  std::map<std::string, std::string> types;
  if (!indexLayers(layers, fileName, types, error))
    return std::nullopt;
  if (layers.empty()) {
    error = prefixed(fileName, "the model has no quantizable layer (Conv2d, "
                               "Conv3d, ConvTranspose2d, Linear, AvgPool2d)");
    return std::nullopt;
  }
  const std::vector<std::string> &allTypes = quantizableLayerTypes();
  auto isKnownType = [&](const std::string &type) {
    return std::find(allTypes.begin(), allTypes.end(), type) != allTypes.end();
  };

  if (cfg.has_fakequant_precision_mode()) {
    r.fail(tree, cfg, "fakequant_precision_mode", -1,
           "fakequant_precision_mode is not supported by amct-mlir");
    return std::nullopt;
  }
  if (cfg.batch_num() < 1) {
    r.fail(tree, cfg, "batch_num", -1, "batch_num: must be greater than 0");
    return std::nullopt;
  }

  std::set<std::string> skipLayers, skipTypes;
  for (int i = 0; i < cfg.skip_layers_size(); ++i) {
    const std::string &name = cfg.skip_layers(i);
    if (!skipLayers.insert(name).second) {
      r.fail(tree, cfg, "skip_layers", i,
             "skip_layers: " + quote(name) + " is listed twice");
      return std::nullopt;
    }
    if (!types.count(name)) {
      r.fail(tree, cfg, "skip_layers", i,
             "skip_layers: " + quote(name) +
                 " is not a quantizable layer of the model" +
                 knownLayersHint(layers));
      return std::nullopt;
    }
  }
  for (int i = 0; i < cfg.skip_layer_types_size(); ++i) {
    const std::string &type = cfg.skip_layer_types(i);
    if (!skipTypes.insert(type).second) {
      r.fail(tree, cfg, "skip_layer_types", i,
             "skip_layer_types: " + quote(type) + " is listed twice");
      return std::nullopt;
    }
    if (!isKnownType(type)) {
      r.fail(tree, cfg, "skip_layer_types", i,
             "skip_layer_types: " + quote(type) +
                 " is not a quantizable layer type (Conv2d, Conv3d, "
                 "ConvTranspose2d, Linear, AvgPool2d)");
      return std::nullopt;
    }
  }
  if (skipTypes.size() == allTypes.size()) {
    r.fail(tree, cfg, "skip_layer_types", 0,
           "skip_layer_types: every quantizable layer type is skipped");
    return std::nullopt;
  }

  if (cfg.has_common_config() &&
      !checkCalibration(r, CfgReporter::nested(tree, cfg, "common_config"),
                        cfg.common_config(), "common_config"))
    return std::nullopt;

  std::map<std::string, const proto::CalibrationConfig *> byType, byLayer;
  for (int i = 0; i < cfg.override_layer_types_size(); ++i) {
    const proto::OverrideLayerType &o = cfg.override_layer_types(i);
    const InfoTree *t =
        CfgReporter::nested(tree, cfg, "override_layer_types", i);
    std::string path = "override_layer_types[" + o.layer_type() + "]";
    if (!isKnownType(o.layer_type())) {
      r.fail(t, o, "layer_type", -1,
             path + ".layer_type: " + quote(o.layer_type()) +
                 " is not a quantizable layer type (Conv2d, Conv3d, "
                 "ConvTranspose2d, Linear, AvgPool2d)");
      return std::nullopt;
    }
    if (!byType.emplace(o.layer_type(), &o.calibration_config()).second) {
      r.fail(t, o, "layer_type", -1,
             path + ": layer type " + quote(o.layer_type()) +
                 " is overridden twice");
      return std::nullopt;
    }
    const InfoTree *ct = CfgReporter::nested(t, o, "calibration_config");
    path += ".calibration_config";
    if (!checkCalibration(r, ct, o.calibration_config(), path) ||
        !checkCalibrationForType(r, ct, o.calibration_config(), path,
                                 o.layer_type(),
                                 "a " + o.layer_type() + " layer"))
      return std::nullopt;
  }
  for (int i = 0; i < cfg.override_layer_configs_size(); ++i) {
    const proto::OverrideLayer &o = cfg.override_layer_configs(i);
    const InfoTree *t =
        CfgReporter::nested(tree, cfg, "override_layer_configs", i);
    std::string path = "override_layer_configs[" + o.layer_name() + "]";
    auto it = types.find(o.layer_name());
    if (it == types.end()) {
      r.fail(t, o, "layer_name", -1,
             path + ".layer_name: " + quote(o.layer_name()) +
                 " is not a quantizable layer of the model" +
                 knownLayersHint(layers));
      return std::nullopt;
    }
    if (!byLayer.emplace(o.layer_name(), &o.calibration_config()).second) {
      r.fail(t, o, "layer_name", -1,
             path + ": layer " + quote(o.layer_name()) +
                 " is overridden twice");
      return std::nullopt;
    }
    const InfoTree *ct = CfgReporter::nested(t, o, "calibration_config");
    path += ".calibration_config";
    if (!checkCalibration(r, ct, o.calibration_config(), path) ||
        !checkCalibrationForType(
            r, ct, o.calibration_config(), path, it->second,
            "layer " + quote(o.layer_name()) + " (" + it->second + ")"))
      return std::nullopt;
  }

  QuantConfig config;
  config.batchNum = static_cast<int>(
      std::min<uint32_t>(cfg.batch_num(), std::numeric_limits<int>::max()));
  config.activationOffset = cfg.activation_offset();
  config.doFusion = cfg.do_fusion();
  std::set<std::string> fusionSeen;
  for (int i = 0; i < cfg.skip_fusion_layers_size(); ++i) {
    const std::string &name = cfg.skip_fusion_layers(i);
    if (!fusionSeen.insert(name).second) {
      r.fail(tree, cfg, "skip_fusion_layers", i,
             "skip_fusion_layers: " + quote(name) + " is listed twice");
      return std::nullopt;
    }
    if (!types.count(name)) {
      r.fail(tree, cfg, "skip_fusion_layers", i,
             "skip_fusion_layers: " + quote(name) +
                 " is not a layer of the model" + knownLayersHint(layers));
      return std::nullopt;
    }
    config.skipFusionLayers.push_back(name);
  }

  // common_config's activation algorithm and asymmetric, which layers
  // using the same algorithm inherit (AMCT's set_global_asymmetric).
  std::string commonAlgo;
  std::optional<bool> commonAsymmetric;
  if (cfg.common_config().has_ifmr_quantize()) {
    commonAlgo = "ifmr";
    if (cfg.common_config().ifmr_quantize().has_asymmetric())
      commonAsymmetric = cfg.common_config().ifmr_quantize().asymmetric();
  } else if (cfg.common_config().has_hfmg_quantize()) {
    commonAlgo = "hfmg";
    if (cfg.common_config().hfmg_quantize().has_asymmetric())
      commonAsymmetric = cfg.common_config().hfmg_quantize().asymmetric();
  }

  size_t quantized = 0;
  for (const auto &[name, type] : layers) {
    // Precedence: the layer's override, its type's, common_config; the
    // chosen CalibrationConfig applies whole.
    const proto::CalibrationConfig *source = &cfg.common_config();
    if (auto it = byLayer.find(name); it != byLayer.end())
      source = it->second;
    else if (auto it = byType.find(type); it != byType.end())
      source = it->second;
    LayerQuantConfig layer = fromCalibration(*source);
    layer.quantEnable = !skipLayers.count(name) && !skipTypes.count(type);
    quantized += layer.quantEnable;

    // What common_config cannot give this type (overrides were checked).
    if (!isDmqType(type))
      layer.dmq = DmqParams();
    if (layer.wts.algo == "ada_quantize" && !isAdaType(type))
      layer.wts = WeightQuantParams();
    if (!layer.wts.channelWiseSet) {
      layer.wts.channelWise = isChannelWiseType(type);
    } else if (layer.wts.channelWise && !allowsChannelWise(type)) {
      // AMCT rejects this for AvgPool2d too, but an AvgPool2d has no
      // weights: its weight parameters are moot.
      if (layer.quantEnable && type != "AvgPool2d") {
        const proto::CalibrationConfig &common = cfg.common_config();
        const InfoTree *ct = CfgReporter::nested(tree, cfg, "common_config");
        const char *algo =
            common.has_arq_quantize() ? "arq_quantize" : "ada_quantize";
        const pb::Message &q =
            common.has_arq_quantize()
                ? static_cast<const pb::Message &>(common.arq_quantize())
                : common.ada_quantize();
        r.fail(CfgReporter::nested(ct, common, algo), q, "channel_wise", -1,
               std::string("common_config.") + algo +
                   ".channel_wise: true cannot apply to layer " + quote(name) +
                   " (" + type +
                   "); per-channel weights are for Conv2d, Conv3d, ConvTranspose2d "
                   "and Linear: set channel_wise false for " +
                   type + " in override_layer_types");
        return std::nullopt;
      }
      // Not quantized, or no weights: keep the entry consistent.
      layer.wts.channelWise = false;
    }
    layer.wts.channelWiseSet = true;

    if (!layer.act.asymmetricSet) {
      layer.act.asymmetric = commonAsymmetric && commonAlgo == layer.act.algo
                                 ? *commonAsymmetric
                                 : config.activationOffset;
    }
    if (isSymmetricOnlyType(type))
      layer.act.asymmetric = false;
    layer.act.asymmetricSet = true;
    config.layers[name] = layer;
  }
  if (!quantized) {
    error = prefixed(fileName, "no layer left to quantize: every quantizable "
                               "layer is in skip_layers or skip_layer_types");
    return std::nullopt;
  }
  return config;
}

} // namespace

std::optional<QuantConfig> amct::parseSimpleConfig(const std::string &text,
                                                   const std::string &fileName,
                                                   const LayerList &layers,
                                                   std::string &error) {
  if (isBlank(text)) {
    error = prefixed(fileName, "the config file is empty");
    return std::nullopt;
  }
  proto::AMCTConfig cfg;
  InfoTree tree;
  if (!detail::parseProtoText(text, fileName.empty() ? std::string("<config>") : fileName,
                      "simple config", cfg, tree, error))
    return std::nullopt;
  return expandConfig(cfg, &tree, fileName, layers, error);
}

std::optional<QuantConfig> amct::createQuantConfig(
    const LayerList &layers, const std::vector<std::string> &skipLayers,
    int batchNum, bool activationOffset, std::string &error) {
  if (batchNum < 1) {
    error =
        "batch_num: must be greater than 0, got " + std::to_string(batchNum);
    return std::nullopt;
  }
  proto::AMCTConfig cfg;
  cfg.set_batch_num(static_cast<uint32_t>(batchNum));
  cfg.set_activation_offset(activationOffset);
  for (const std::string &name : skipLayers)
    cfg.add_skip_layers(name);
  return expandConfig(cfg, nullptr, "", layers, error);
}

//===----------------------------------------------------------------------===//
// KV-cache config
//===----------------------------------------------------------------------===//

std::optional<KvCacheConfig> amct::parseKvCacheConfig(const std::string &text,
                                                      const std::string &fileName,
                                                      std::string &error) {
  if (isBlank(text)) {
    error = prefixed(fileName, "the KV-cache config file is empty");
    return std::nullopt;
  }
  std::string where = fileName.empty() ? std::string("<kv-cache config>") : fileName;
  proto::AMCTKVCacheConfig cfg;
  InfoTree tree;
  const InfoTree *treeOrNull = nullptr;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = pb::util::JsonStringToMessage(text, &cfg, options);
    if (!status.ok()) {
      error = where + ": not a KV-cache config (JSON with kv_cache_quant_config { "
                      "quant_layers, calibration_config } and batch_num): " +
              std::string(status.message());
      return std::nullopt;
    }
  } else {
    if (!detail::parseProtoText(text, where, "KV-cache config", cfg, tree, error))
      return std::nullopt;
    treeOrNull = &tree;
  }
  CfgReporter r(fileName, error);
  if (!cfg.has_kv_cache_quant_config()) {
    error = prefixed(fileName, "kv_cache_quant_config { ... } is required");
    return std::nullopt;
  }
  if (cfg.batch_num() < 1) {
    r.fail(treeOrNull, cfg, "batch_num", -1, "batch_num: must be greater than 0, got 0");
    return std::nullopt;
  }
  const proto::KVCacheQuantConfig &kv = cfg.kv_cache_quant_config();
  const InfoTree *kvTree = CfgReporter::nested(treeOrNull, cfg, "kv_cache_quant_config");
  KvCacheConfig out;
  out.batchNum = cfg.batch_num();
  out.channelWise = kv.channel_wise();
  std::set<std::string> seen;
  for (int i = 0; i < kv.quant_layers_size(); ++i) {
    const std::string &name = kv.quant_layers(i);
    if (name.empty() || !seen.insert(name).second) {
      r.fail(kvTree, kv, "quant_layers", i,
             "kv_cache_quant_config.quant_layers: " +
                 (name.empty() ? std::string("a layer name is empty")
                               : "layer \"" + name + "\" is named twice"));
      return std::nullopt;
    }
    out.quantLayers.push_back(name);
  }
  out.act.asymmetric = true;
  if (kv.has_calibration_config()) {
    const proto::CalibrationConfig &c = kv.calibration_config();
    const InfoTree *cTree = CfgReporter::nested(kvTree, kv, "calibration_config");
    const std::string path = "kv_cache_quant_config.calibration_config";
    for (const char *field : {"arq_quantize", "ada_quantize", "dmq_balancer"}) {
      const pb::FieldDescriptor *f = c.GetDescriptor()->FindFieldByName(field);
      if (c.GetReflection()->HasField(c, f)) {
        r.fail(cTree, c, field, -1,
               path + "." + field + ": the KV cache holds layer outputs; only "
                                    "ifmr_quantize or hfmg_quantize calibrate them");
        return std::nullopt;
      }
    }
    if (!checkCalibration(r, cTree, c, path))
      return std::nullopt;
    LayerQuantConfig layer = fromCalibration(c);
    out.act = layer.act;
    if (!out.act.asymmetricSet)
      out.act.asymmetric = true;
  }
  return out;
}

std::string amct::formatKvCacheConfig(const std::vector<std::string> &layers) {
  proto::AMCTKVCacheConfig cfg;
  proto::KVCacheQuantConfig *kv = cfg.mutable_kv_cache_quant_config();
  for (const std::string &name : layers)
    kv->add_quant_layers(name);
  kv->mutable_calibration_config()->mutable_ifmr_quantize();
  cfg.set_batch_num(1);
  std::string text;
  pb::TextFormat::PrintToString(cfg, &text);
  return text;
}
