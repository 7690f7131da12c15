//===- QuantConfigJson.cpp - AMCT JSON config reader ----------------------===//
//
// The rules follow AMCT's own config code (hicann/amct,
// amct_pytorch/common/config/field.py, config_base.py, proto_config.py): the
// same keys, defaults, ranges and precedence, so a config AMCT accepts means
// the same here, and one it rejects is rejected here too. Where amct-mlir
// supports less (8-bit only, no fakequant_precision_mode) the message says so.
//
// JSON is read strictly (StrictJson.h): syntax errors with their position,
// duplicate keys refused, values read without exceptions.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "ConfigRules.h"
#include "StrictJson.h"


#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <set>

using namespace amct;
using OJson = nlohmann::ordered_json;
using namespace amct::detail;

namespace {


bool readActivationParams(JsonReader &reader, const OJson &value,
                          const std::string &path, ActivationQuantParams &act) {
  const OJson::object_t *object = reader.readObject(value, path, kActKeys);
  if (!object)
    return false;
  auto key = [&](const std::string &name) { return path + "." + name; };

  // The algorithm: act_algo, or HFMG when num_of_bins is given (AMCT's
  // ActQuantParamsField._check_params); IFMR keys cannot go with HFMG.
  std::string algo;
  if (const OJson *v = member(*object, "act_algo")) {
    if (!reader.readString(*v, key("act_algo"), algo))
      return false;
    if (algo != "ifmr" && algo != "hfmg")
      return reader.fail(key("act_algo"),
                         "must be \"ifmr\" or \"hfmg\", got " + describe(*v));
  }
  std::string firstIfmrKey, firstHfmgKey;
  for (const auto &m : *object) {
    if (firstIfmrKey.empty() && isOneOf(m.first, kIfmrKeys))
      firstIfmrKey = m.first;
    if (firstHfmgKey.empty() && m.first == "num_of_bins")
      firstHfmgKey = m.first;
  }
  if (algo.empty())
    algo = firstHfmgKey.empty() ? "ifmr" : "hfmg";
  if (!firstIfmrKey.empty() && !firstHfmgKey.empty())
    return reader.fail(path, "IFMR key " + quote(firstIfmrKey) +
                                 " and HFMG key 'num_of_bins' cannot appear "
                                 "together");
  if (algo == "ifmr" && !firstHfmgKey.empty())
    return reader.fail(key(firstHfmgKey),
                       "is an HFMG key, not allowed with act_algo \"ifmr\"");
  if (algo == "hfmg" && !firstIfmrKey.empty())
    return reader.fail(key(firstIfmrKey),
                       "is an IFMR key, not allowed with act_algo \"hfmg\"");
  act.algo = algo;

  long long integer;
  if (const OJson *v = member(*object, "num_bits")) {
    if (!reader.readInt(*v, key("num_bits"), integer) ||
        !reader.check(key("num_bits"), checkNumBits(integer, "activations")))
      return false;
    act.numBits = static_cast<int>(integer);
  }
  for (auto [name, out] :
       {std::make_pair("max_percentile", &act.maxPercentile),
        std::make_pair("min_percentile", &act.minPercentile)})
    if (const OJson *v = member(*object, name))
      if (!reader.readNumber(*v, key(name), *out) ||
          !reader.check(key(name), checkPercentile(*out)))
        return false;
  if (const OJson *v = member(*object, "search_range"))
    if (!reader.readPair(*v, key("search_range"), act.searchRangeStart,
                         act.searchRangeEnd) ||
        !reader.check(
            key("search_range"),
            checkSearchRange(act.searchRangeStart, act.searchRangeEnd)))
      return false;
  if (const OJson *v = member(*object, "search_step"))
    if (!reader.readNumber(*v, key("search_step"), act.searchStep) ||
        !reader.check(key("search_step"),
                      checkSearchStep(act.searchStep, act.searchRangeStart,
                                      act.searchRangeEnd)))
      return false;
  if (const OJson *v = member(*object, "num_of_bins")) {
    if (!reader.readInt(*v, key("num_of_bins"), integer) ||
        !reader.check(key("num_of_bins"), checkNumOfBins(integer)))
      return false;
    act.numOfBins = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "asymmetric")) {
    if (!reader.readBool(*v, key("asymmetric"), act.asymmetric))
      return false;
    act.asymmetricSet = true;
  }
  return true;
}

bool readWeightParams(JsonReader &reader, const OJson &value,
                      const std::string &path, WeightQuantParams &wts) {
  const OJson::object_t *object = reader.readObject(value, path, kWtsKeys);
  if (!object)
    return false;
  auto key = [&](const std::string &name) { return path + "." + name; };

  if (const OJson *v = member(*object, "wts_algo")) {
    if (!reader.readString(*v, key("wts_algo"), wts.algo))
      return false;
    if (wts.algo != "arq_quantize" && wts.algo != "ada_quantize")
      return reader.fail(key("wts_algo"),
                         "must be \"arq_quantize\" or \"ada_quantize\", got " +
                             describe(*v));
  }
  if (wts.algo == "arq_quantize")
    for (const auto &m : *object)
      if (isOneOf(m.first, kAdaKeys))
        return reader.fail(key(m.first),
                           "is an ada_quantize key, not allowed with "
                           "wts_algo \"arq_quantize\"");

  long long integer;
  if (const OJson *v = member(*object, "num_bits")) {
    if (!reader.readInt(*v, key("num_bits"), integer) ||
        !reader.check(key("num_bits"), checkNumBits(integer, "weights")))
      return false;
    wts.numBits = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "channel_wise")) {
    if (!reader.readBool(*v, key("channel_wise"), wts.channelWise))
      return false;
    wts.channelWiseSet = true;
  }
  if (const OJson *v = member(*object, "num_iteration")) {
    if (!reader.readInt(*v, key("num_iteration"), integer))
      return false;
    if (integer < 1 || integer > std::numeric_limits<int>::max())
      return reader.fail(key("num_iteration"),
                         "must be at least 1 (ADA's iterations), got " + std::to_string(integer));
    wts.numIteration = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "reg_param"))
    if (!reader.readNumber(*v, key("reg_param"), wts.regParam) ||
        !reader.check(key("reg_param"), checkOpenUnit(wts.regParam)))
      return false;
  if (const OJson *v = member(*object, "warm_start"))
    if (!reader.readNumber(*v, key("warm_start"), wts.warmStart) ||
        !reader.check(key("warm_start"), checkOpenUnit(wts.warmStart)))
      return false;
  if (const OJson *v = member(*object, "beta_range"))
    if (!reader.readPair(*v, key("beta_range"), wts.betaRangeStart,
                         wts.betaRangeEnd) ||
        !reader.check(key("beta_range"),
                      checkBetaRange(wts.betaRangeStart, wts.betaRangeEnd)))
      return false;
  return true;
}

bool readLayer(JsonReader &reader, const std::string &name, const OJson &value,
               LayerQuantConfig &layer) {
  const OJson::object_t *object = reader.readObject(value, name, kLayerKeys);
  if (!object)
    return false;
  // AMCT quantizes only the layers whose entry says "quant_enable": true.
  layer.quantEnable = false;
  if (const OJson *v = member(*object, "quant_enable"))
    if (!reader.readBool(*v, name + ".quant_enable", layer.quantEnable))
      return false;
  if (const OJson *v = member(*object, "dmq_balancer_param")) {
    std::string path = name + ".dmq_balancer_param";
    if (!reader.readNumber(*v, path, layer.dmq.migrationStrength) ||
        !reader.check(path,
                      checkMigrationStrength(layer.dmq.migrationStrength)))
      return false;
    layer.dmq.enabled = true;
  }
  if (const OJson *v = member(*object, "activation_quant_params"))
    if (!readActivationParams(reader, *v, name + ".activation_quant_params",
                              layer.act))
      return false;
  if (const OJson *v = member(*object, "weight_quant_params"))
    if (!readWeightParams(reader, *v, name + ".weight_quant_params", layer.wts))
      return false;
  return true;
}

} // namespace

std::optional<QuantConfig>
amct::parseQuantConfigJson(const std::string &text, const std::string &fileName,
                           std::string &error) {
  OJson root;
  if (!parseJsonStrict(text, fileName, root, error))
    return std::nullopt;
  JsonReader reader(fileName, error);
  const auto *object = root.get_ptr<const OJson::object_t *>();
  if (!object) {
    error = prefixed(fileName,
                     "the config must be a JSON object, got " + describe(root));
    return std::nullopt;
  }

  QuantConfig config;
  long long integer;
  for (const auto &[key, value] : *object) {
    if (key == "version") {
      if (!reader.readInt(value, key, integer))
        return std::nullopt;
      if (integer != 1) {
        reader.fail(key, "must be 1, got " + std::to_string(integer));
        return std::nullopt;
      }
      config.version = 1;
    } else if (key == "batch_num") {
      if (!reader.readInt(value, key, integer))
        return std::nullopt;
      if (integer < 1) {
        reader.fail(key,
                    "must be greater than 0, got " + std::to_string(integer));
        return std::nullopt;
      }
      config.batchNum = static_cast<int>(integer);
    } else if (key == "activation_offset") {
      if (!reader.readBool(value, key, config.activationOffset))
        return std::nullopt;
    } else if (key == "do_fusion") {
      if (!reader.readBool(value, key, config.doFusion))
        return std::nullopt;
    } else if (key == "skip_fusion_layers") {
      const auto *array = value.get_ptr<const OJson::array_t *>();
      if (!array) {
        reader.fail(key,
                    "expected a list of layer names, got " + describe(value));
        return std::nullopt;
      }
      for (size_t i = 0; i < array->size(); ++i) {
        std::string name;
        if (!reader.readString((*array)[i], key + "[" + std::to_string(i) + "]",
                               name))
          return std::nullopt;
        if (std::find(config.skipFusionLayers.begin(),
                      config.skipFusionLayers.end(),
                      name) != config.skipFusionLayers.end()) {
          reader.fail(key, "layer " + quote(name) + " is listed twice");
          return std::nullopt;
        }
        config.skipFusionLayers.push_back(name);
      }
    } else if (value.is_object()) {
      if (key.empty()) {
        reader.fail("\"\"", "a layer name cannot be empty");
        return std::nullopt;
      }
      if (!readLayer(reader, key, value, config.layers[key]))
        return std::nullopt;
    } else {
      error = prefixed(fileName, "unknown top-level key " + quote(key) +
                                     " holding " + describe(value) +
                                     " (allowed: " + joinKeys(kGlobalKeys) +
                                     ", or a layer name holding an object)");
      return std::nullopt;
    }
  }
  // A layer without its own `asymmetric` follows activation_offset
  // (AMCT's add_global_to_layer).
  for (auto &entry : config.layers)
    if (!entry.second.act.asymmetricSet)
      entry.second.act.asymmetric = config.activationOffset;
  return config;
}

bool amct::bindQuantConfigToLayers(QuantConfig &config, const LayerList &layers,
                                   const std::string &fileName,
                                   std::string &error) {
  std::map<std::string, std::string> types;
  if (!indexLayers(layers, fileName, types, error))
    return false;
  auto fail = [&](const std::string &path, const std::string &message) {
    error = prefixed(fileName, path + ": " + message);
    return false;
  };
  for (const std::string &name : config.skipFusionLayers)
    if (!types.count(name))
      return fail("skip_fusion_layers", quote(name) +
                                            " is not a layer of the model" +
                                            knownLayersHint(layers));
  for (auto &[name, layer] : config.layers) {
    auto it = types.find(name);
    if (it == types.end())
      return fail(name, "not a quantizable layer of the model" +
                            knownLayersHint(layers));
    const std::string &type = it->second;
    if (!layer.wts.channelWiseSet)
      layer.wts.channelWise = isChannelWiseType(type);
    else if (layer.wts.channelWise && !allowsChannelWise(type))
      return fail(name + ".weight_quant_params.channel_wise",
                  "must be false for a " + type +
                      " layer (per-channel weights are for Conv2d, Conv3d, "
                      "ConvTranspose2d and Linear)");
    if (isSymmetricOnlyType(type)) {
      if (layer.act.asymmetricSet && layer.act.asymmetric)
        return fail(name + ".activation_quant_params.asymmetric",
                    "must be false for a " + type +
                        " layer (its activations are quantized "
                        "symmetrically only)");
      layer.act.asymmetric = false;
    }
    if (layer.dmq.enabled && !isDmqType(type))
      return fail(name + ".dmq_balancer_param",
                  "not supported for a " + type + " layer (it has no weights)");
    if (layer.wts.algo == "ada_quantize" && !isAdaType(type))
      return fail(name + ".weight_quant_params.wts_algo",
                  "ada_quantize is not supported for a " + type +
                      " layer (only Conv2d, ConvTranspose2d and Linear)");
  }
  return true;
}
