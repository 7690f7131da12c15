//===- PruneConfig.h - AMCT pruning configs ---------------------*- C++ -*-===//
//
// The config of AMCT's create_prune_retrain_model: protobuf text of
// AMCTPruneConfig (lib/Support/proto/amct_prune_config.proto) or the same
// fields as JSON, recognised by content, e.g.
//
//   prune_config {
//     filter_pruner {
//       balanced_l2_norm_filter_prune { prune_ratio: 0.3 ascend_optimized: true }
//     }
//   }
//   regular_prune_skip_layers: "conv1"
//   override_layer_configs {
//     layer_name: "conv2"
//     prune_config { filter_pruner { balanced_l2_norm_filter_prune { prune_ratio: 0.5 } } }
//   }
//
// One pruner per model (channel or 4-choose-2, as AMCT allows); overrides
// use the same pruner. Free of MLIR and of protobuf in this header.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_PRUNECONFIG_H
#define AMCT_SUPPORT_PRUNECONFIG_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace amct {

/// What to prune and how. `channel`: balanced_l2_norm_filter_prune with
/// `ratio` and `align` (ascend_optimized: 16, else 1), per-type and
/// per-layer overrides (a layer's own wins over its type's); `2:4`:
/// l1_selective_prune M4N2. Skip lists for both.
struct PruneSettings {
  enum class Method { Channel, Selective };
  Method method = Method::Channel;
  double ratio = 0.5;
  int64_t align = 16;
  std::vector<std::string> skipLayers, skipTypes;
  struct Override {
    std::optional<double> ratio;
    std::optional<int64_t> align;
  };
  std::map<std::string, Override> layers, types;
};

/// Parses a pruning config (text of `fileName`). Errors start with the
/// file name and name the field: a ratio outside (0, 1), no pruner, two
/// pruners, an override with the other pruner, unknown fields.
std::optional<PruneSettings> parsePruneConfig(const std::string &text,
                                              const std::string &fileName, std::string &error);

/// parsePruneConfig on the file at `path`.
std::optional<PruneSettings> readPruneConfig(const std::string &path, std::string &error);

/// The settings as the simple-config text (`channel` only): what the
/// automatic search writes as P_prune_config.cfg.
std::string writePruneConfig(const PruneSettings &settings);

} // namespace amct

#endif // AMCT_SUPPORT_PRUNECONFIG_H
