//===- Registration.cpp - every amct pass and pipeline, registered once ---===//

#include "amct/Pipelines/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace {
struct PrepareOptions : PassPipelineOptions<PrepareOptions> {
  ListOption<std::string> skipLayers{
      *this, "skip-layers",
      llvm::cl::desc("layer (node) names not to fuse (AMCT's skip_fusion_layers)")};
};
} // namespace

void amct::buildPreparePipeline(OpPassManager &pm, ArrayRef<std::string> skipFusionLayers) {
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(createAmctFoldConstants());
  AmctFuseOptions fuse;
  fuse.skipLayers = skipFusionLayers; // copied into the pass when it is created
  func.addPass(createAmctFuse(fuse));
}

void amct::registerAllPassesAndPipelines() {
  registerAmctPasses();
  registerAmctPipelinesPasses();
  PassPipelineRegistration<PrepareOptions>(
      "amct-prepare",
      "Fold constants that hide weights, then fuse (Conv+BN, MatMul+Add -> Gemm): "
      "the model as the quantization passes see it",
      [](OpPassManager &pm, const PrepareOptions &options) {
        buildPreparePipeline(pm, std::vector<std::string>(options.skipLayers.begin(),
                                                          options.skipLayers.end()));
      });
}
