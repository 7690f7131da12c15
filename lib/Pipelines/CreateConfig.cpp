//===- CreateConfig.cpp - AMCT's create_quant_config for a model ----------===//

#include "amct/Pipelines/CreateConfig.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/KvCacheConfig.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace amct;

FailureOr<CreatedConfig> amct::createConfigForModel(ModuleOp model,
                                                    const CreateConfigOptions &options) {
  // The layers the quantizer will see: after constant folding.
  PassManager pm(model.getContext());
  pm.addNestedPass<func::FuncOp>(createAmctFoldConstants());
  if (failed(pm.run(model)))
    return failure();
  func::FuncOp main = getMainFunction(model);
  if (!main)
    return emitError(model.getLoc()) << "the model has no function to quantize";
  CreatedConfig created;
  if (options.kvCache) {
    FailureOr<std::vector<std::string>> kv = findKvCacheProjections(main);
    if (failed(kv))
      return failure();
    created.text = formatKvCacheConfig(*kv);
    created.layers = std::move(*kv);
    return created;
  }
  std::vector<QuantizableLayer> layers = findQuantizableLayers(main, &created.notQuantizable);
  LayerList list = getLayerList(layers);
  std::optional<QuantConfig> config;
  std::string error;
  if (!options.simpleConfigPath.empty()) {
    std::string text;
    if (readRegularFile(options.simpleConfigPath, text, error))
      config = parseSimpleConfig(text, options.simpleConfigPath, list, error);
  } else {
    config = createQuantConfig(list, options.skipLayers, options.batchNum,
                               options.activationOffset, error);
  }
  if (!config)
    return emitError(UnknownLoc::get(model.getContext())) << error;
  created.text = writeQuantConfigJson(*config);
  for (const QuantizableLayer &layer : layers)
    created.layers.push_back(layer.name);
  return created;
}
