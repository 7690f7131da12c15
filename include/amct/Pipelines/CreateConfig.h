//===- CreateConfig.h - AMCT's create_quant_config for a model --*- C++ -*-===//
//
// The job behind `amct create-config` and the Python module's
// create_quant_config / create_kv_cache_config: the model's constants
// folded, its quantizable layers found, and the config text for them.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_CREATECONFIG_H
#define AMCT_PIPELINES_CREATECONFIG_H

#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace amct {

struct CreateConfigOptions {
  /// Layers not to quantize (quant_enable false).
  std::vector<std::string> skipLayers;
  int batchNum = 1;
  bool activationOffset = true;
  /// A simple .cfg to expand instead (AMCT's config_defination).
  std::string simpleConfigPath;
  /// A KV-cache config (protobuf text) for the K / V projections found,
  /// instead of the quant config.
  bool kvCache = false;
};

struct CreatedConfig {
  /// The file's text: AMCT's JSON config, or the KV-cache config.
  std::string text;
  /// Layers the config covers (K / V projections with kvCache).
  std::vector<std::string> layers;
  std::vector<SkippedLayer> notQuantizable;
};

/// Folds `model`'s constants (it is modified) and writes the config for it.
/// Errors are emitted as diagnostics.
mlir::FailureOr<CreatedConfig> createConfigForModel(mlir::ModuleOp model,
                                                    const CreateConfigOptions &options);

} // namespace amct

#endif // AMCT_PIPELINES_CREATECONFIG_H
