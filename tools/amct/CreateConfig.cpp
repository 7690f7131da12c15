//===- CreateConfig.cpp - amct create-config ------------------------------===//

#include "AmctTool.h"

#include "amct/Pipelines/Quantize.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/KvCacheConfig.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::createConfigCmd(
    "create-config", "Write AMCT's JSON quant config for every quantizable layer of a model");
static cl::opt<std::string> ccModel("model", cl::desc("ONNX model"), cl::Required,
                                    cl::value_desc("M.onnx"), cl::sub(createConfigCmd));
static cl::opt<std::string> ccOutput("o", cl::desc("output JSON config"), cl::Required,
                                     cl::value_desc("config.json"), cl::sub(createConfigCmd));
static cl::list<std::string> ccSkipLayers("skip-layers", cl::desc("layers not to quantize"),
                                          cl::CommaSeparated, cl::sub(createConfigCmd));
static cl::opt<int> ccBatchNum("batch-num", cl::desc("calibration batches"), cl::init(1),
                               cl::sub(createConfigCmd));
static cl::opt<bool> ccActivationOffset("activation-offset",
                                        cl::desc("asymmetric activations (default true)"),
                                        cl::init(true), cl::sub(createConfigCmd));
static cl::opt<bool> ccKvCache("kv-cache",
                               cl::desc("write a KV-cache config (protobuf text) for the K and V "
                                        "projections found, for --kv-cache-config"),
                               cl::init(false), cl::sub(createConfigCmd));
static cl::opt<std::string> ccSimpleConfig("simple-config",
                                           cl::desc("expand this simple .cfg instead"),
                                           cl::value_desc("q.cfg"), cl::sub(createConfigCmd));


int amct::tool::runCreateConfig() {
  ToolSession session("amct create-config");
  OwningOpRef<ModuleOp> module = session.loadModel(ccModel);
  if (!module)
    return kExitUserError;
  // The layers the quantizer will see: after constant folding.
  {
    PassManager pm(&session.context());
    pm.addNestedPass<func::FuncOp>(createAmctFoldConstants());
    if (failed(pm.run(*module)))
      return kExitUserError;
  }
  func::FuncOp main = getMainFunction(*module);
  std::string error;
  if (ccKvCache) {
    FailureOr<std::vector<std::string>> kv = findKvCacheProjections(main);
    if (failed(kv))
      return kExitUserError;
    std::string text = formatKvCacheConfig(*kv);
    if (failed(writeFileAtomically(ccOutput, [&](llvm::raw_ostream &os) {
          os << text;
          return success();
        }, &error))) {
      llvm::errs() << "amct create-config: error: " << error << "\n";
      return kExitUserError;
    }
    llvm::outs() << kv->size() << " K / V projections written to " << ccOutput << "\n";
    return 0;
  }
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> layers = findQuantizableLayers(main, &skipped);
  LayerList list = getLayerList(layers);
  std::optional<QuantConfig> config;
  if (!ccSimpleConfig.empty()) {
    std::string text;
    if (!readRegularFile(ccSimpleConfig, text, error)) {
      llvm::errs() << "amct create-config: error: " << error << "\n";
      return kExitUserError;
    }
    config = parseSimpleConfig(text, ccSimpleConfig, list, error);
  } else {
    config = createQuantConfig(list, std::vector<std::string>(ccSkipLayers.begin(), ccSkipLayers.end()),
                               ccBatchNum, ccActivationOffset, error);
  }
  if (!config) {
    llvm::errs() << "amct create-config: error: " << error << "\n";
    return kExitUserError;
  }
  std::string json = writeQuantConfigJson(*config);
  if (failed(writeFileAtomically(ccOutput, [&](llvm::raw_ostream &os) {
        os << json;
        return success();
      }, &error))) {
    llvm::errs() << "amct create-config: error: " << error << "\n";
    return kExitUserError;
  }
  llvm::outs() << layers.size() << " quantizable layers written to " << ccOutput << "\n";
  for (const SkippedLayer &s : skipped)
    llvm::outs() << "  not quantizable: " << s.name << " (" << s.reason << ")\n";
  return 0;
}

