//===- PruneConfig.cpp - AMCT pruning configs -----------------------------===//
//
// Protobuf reads both forms: its text parser the .cfg, its JSON parser the
// JSON (field names as in the .proto), so one schema defines the keys.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/PruneConfig.h"
#include "ProtoText.h"
#include "amct/Support/FileAccess.h"

#include "amct_prune_config.pb.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <sstream>

using namespace amct;
namespace pb = google::protobuf;

namespace {

bool isJson(const std::string &text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    return c == '{';
  }
  return false;
}

/// The pruner of one prune_config: channel settings or 4-choose-2.
bool readPruner(const proto::PruneConfig &config, const std::string &where,
                PruneSettings::Method &method, PruneSettings::Override &values,
                std::string &error) {
  if (config.has_filter_pruner()) {
    if (!config.filter_pruner().has_balanced_l2_norm_filter_prune()) {
      error = where + ".filter_pruner: expected balanced_l2_norm_filter_prune";
      return false;
    }
    const proto::BalancedL2NormFilterPrune &p = config.filter_pruner().balanced_l2_norm_filter_prune();
    if (!p.has_prune_ratio()) {
      error = where + ".filter_pruner.balanced_l2_norm_filter_prune.prune_ratio is required";
      return false;
    }
    float ratio = p.prune_ratio();
    if (!(ratio > 0.0f && ratio < 1.0f)) {
      std::ostringstream os;
      os << ratio;
      error = where + ".filter_pruner.balanced_l2_norm_filter_prune.prune_ratio: " + os.str() +
              " is outside (0, 1)";
      return false;
    }
    method = PruneSettings::Method::Channel;
    values.ratio = ratio;
    values.align = p.ascend_optimized() ? 16 : 1;
    return true;
  }
  if (config.has_n_out_of_m_pruner()) {
    if (!config.n_out_of_m_pruner().has_l1_selective_prune()) {
      error = where + ".n_out_of_m_pruner: expected l1_selective_prune";
      return false;
    }
    if (config.n_out_of_m_pruner().l1_selective_prune().update_freq() != 0) {
      error = where + ".n_out_of_m_pruner.l1_selective_prune.update_freq: only 0 is supported "
                      "(the mask is chosen once; there is no retraining loop to update it in)";
      return false;
    }
    method = PruneSettings::Method::Selective;
    return true;
  }
  error = where + ": expected filter_pruner or n_out_of_m_pruner";
  return false;
}

} // namespace

std::optional<PruneSettings> amct::parsePruneConfig(const std::string &text,
                                                    const std::string &fileName,
                                                    std::string &error) {
  proto::AMCTPruneConfig message;
  if (isJson(text)) {
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    pb::util::Status status = pb::util::JsonStringToMessage(text, &message, options);
    if (!status.ok()) {
      error = fileName + ": " + detail::withoutPackage(std::string(status.message()));
      return std::nullopt;
    }
  } else {
    pb::TextFormat::ParseInfoTree tree;
    if (!detail::parseProtoText(text, fileName, "prune config", message, tree, error))
      return std::nullopt;
  }
  if (!message.has_prune_config()) {
    error = fileName + ": prune_config is required";
    return std::nullopt;
  }
  PruneSettings settings;
  PruneSettings::Override global;
  if (!readPruner(message.prune_config(), fileName + ": prune_config", settings.method, global,
                  error))
    return std::nullopt;
  settings.ratio = global.ratio.value_or(settings.ratio);
  settings.align = global.align.value_or(settings.align);
  settings.skipLayers.assign(message.regular_prune_skip_layers().begin(),
                             message.regular_prune_skip_layers().end());
  settings.skipTypes.assign(message.regular_prune_skip_types().begin(),
                            message.regular_prune_skip_types().end());
  auto readOverride = [&](const std::string &key, const proto::PruneConfig &config,
                          const std::string &where,
                          std::map<std::string, PruneSettings::Override> &into) {
    if (key.empty()) {
      error = where + ": the name is empty";
      return false;
    }
    PruneSettings::Method method;
    PruneSettings::Override values;
    if (!readPruner(config, where + ".prune_config", method, values, error))
      return false;
    if (method != settings.method) {
      error = where + ": uses a different pruner than prune_config (channel and 4-choose-2 "
                      "pruning cannot be combined in one model)";
      return false;
    }
    if (!into.emplace(key, values).second) {
      error = where + ": '" + key + "' is overridden twice";
      return false;
    }
    return true;
  };
  for (const proto::PruneOverrideLayerType &o : message.override_layer_types())
    if (!readOverride(o.layer_type(), o.prune_config(),
                      fileName + ": override_layer_types '" + o.layer_type() + "'", settings.types))
      return std::nullopt;
  for (const proto::PruneOverrideLayer &o : message.override_layer_configs())
    if (!readOverride(o.layer_name(), o.prune_config(),
                      fileName + ": override_layer_configs '" + o.layer_name() + "'",
                      settings.layers))
      return std::nullopt;
  return settings;
}

std::optional<PruneSettings> amct::readPruneConfig(const std::string &path, std::string &error) {
  std::string contents;
  if (!readRegularFile(path, contents, error))
    return std::nullopt;
  return parsePruneConfig(contents, path, error);
}

std::string amct::writePruneConfig(const PruneSettings &settings) {
  proto::AMCTPruneConfig message;
  auto fill = [](proto::PruneConfig *config, double ratio, int64_t align) {
    auto *p = config->mutable_filter_pruner()->mutable_balanced_l2_norm_filter_prune();
    p->set_prune_ratio(float(ratio));
    p->set_ascend_optimized(align > 1);
  };
  fill(message.mutable_prune_config(), settings.ratio, settings.align);
  for (const std::string &s : settings.skipLayers)
    message.add_regular_prune_skip_layers(s);
  for (const std::string &s : settings.skipTypes)
    message.add_regular_prune_skip_types(s);
  for (const auto &[type, o] : settings.types) {
    proto::PruneOverrideLayerType *entry = message.add_override_layer_types();
    entry->set_layer_type(type);
    fill(entry->mutable_prune_config(), o.ratio.value_or(settings.ratio), o.align.value_or(settings.align));
  }
  for (const auto &[name, o] : settings.layers) {
    proto::PruneOverrideLayer *entry = message.add_override_layer_configs();
    entry->set_layer_name(name);
    fill(entry->mutable_prune_config(), o.ratio.value_or(settings.ratio), o.align.value_or(settings.align));
  }
  std::string out;
  pb::TextFormat::PrintToString(message, &out);
  return out;
}
