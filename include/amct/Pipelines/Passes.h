//===- Passes.h - passes and pipelines of amct-mlir -------------*- C++ -*-===//
//
// The one place the passes and pipelines are registered: the transforms
// (amct/Transforms/Passes.h), the calibrating passes declared beside the
// pipeline code that defines them, and the named pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_PASSES_H
#define AMCT_PIPELINES_PASSES_H

#include "amct/Transforms/Passes.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace amct {

#define GEN_PASS_DECL
#include "amct/Pipelines/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "amct/Pipelines/Passes.h.inc"

/// amct-prepare: what every flow runs before layers are looked for:
/// --amct-fold-constants, then --amct-fuse (with `skipFusionLayers` left
/// alone), on every function.
void buildPreparePipeline(mlir::OpPassManager &pm,
                          llvm::ArrayRef<std::string> skipFusionLayers = {});

/// Registers every amct pass (transforms and calibrating passes) and the
/// named pipelines (amct-prepare) with MLIR's registry, for amct-opt and
/// for tools that embed the passes.
void registerAllPassesAndPipelines();

} // namespace amct

#endif // AMCT_PIPELINES_PASSES_H
