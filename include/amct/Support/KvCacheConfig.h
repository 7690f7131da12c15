//===- KvCacheConfig.h - KV-cache quantization config -----------*- C++ -*-===//
//
// Which layers' outputs (the K and V projections, whose outputs a KV cache
// stores) are calibrated and quantized to int8, and how: reference 001's
// create_quant_cali_config, read from `amct quantize --kv-cache-config`.
// Format in lib/Support/proto/amct_config.proto (AMCTKVCacheConfig), as
// protobuf text or JSON with the same field names.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_KVCACHECONFIG_H
#define AMCT_SUPPORT_KVCACHECONFIG_H

#include "amct/Support/QuantConfig.h"

#include <optional>
#include <string>
#include <vector>

namespace amct {

struct KvCacheConfig {
  /// Layer names; empty: the K and V projections found in the model.
  std::vector<std::string> quantLayers;
  /// IFMR (default) or HFMG with AMCT's keys; 8 bits; asymmetric unless
  /// the algorithm says `asymmetric: false`.
  ActivationQuantParams act;
  /// One scale / offset per output channel (the cache's last dim).
  bool channelWise = false;
  int64_t batchNum = 1;
};

/// Parses and checks a KV-cache config (protobuf text, or JSON when the
/// text starts with '{'); `fileName` prefixes messages.
std::optional<KvCacheConfig> parseKvCacheConfig(const std::string &text,
                                                const std::string &fileName, std::string &error);

/// The protobuf text of a config quantizing `layers` with IFMR (what
/// `amct create-config --kv-cache` writes).
std::string formatKvCacheConfig(const std::vector<std::string> &layers);

} // namespace amct

#endif // AMCT_SUPPORT_KVCACHECONFIG_H
