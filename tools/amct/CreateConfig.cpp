//===- CreateConfig.cpp - amct create-config ------------------------------===//

#include "AmctTool.h"

#include "amct/Pipelines/CreateConfig.h"

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
  CreateConfigOptions options;
  options.skipLayers.assign(ccSkipLayers.begin(), ccSkipLayers.end());
  options.batchNum = ccBatchNum;
  options.activationOffset = ccActivationOffset;
  options.simpleConfigPath = ccSimpleConfig;
  options.kvCache = ccKvCache;
  FailureOr<CreatedConfig> created = createConfigForModel(*module, options);
  if (failed(created))
    return kExitUserError;
  std::string error;
  if (failed(writeFileAtomically(ccOutput, [&](llvm::raw_ostream &os) {
        os << created->text;
        return success();
      }, &error))) {
    llvm::errs() << "amct create-config: error: " << error << "\n";
    return kExitUserError;
  }
  if (ccKvCache) {
    llvm::outs() << created->layers.size() << " K / V projections written to " << ccOutput << "\n";
    return 0;
  }
  llvm::outs() << created->layers.size() << " quantizable layers written to " << ccOutput << "\n";
  for (const SkippedLayer &s : created->notQuantizable)
    llvm::outs() << "  not quantizable: " << s.name << " (" << s.reason << ")\n";
  return 0;
}
