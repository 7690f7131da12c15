//===- Passes.td - passes that run the executor ------------*- tablegen -*-===//
//
// Passes that calibrate: they run models on the CPU executor, so they live
// in the pipelines library (AmctPipelines) and register with it, and a
// library user linking only the transforms (AmctTransforms) gets none of
// them and no undefined symbol.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_PASSES_TD
#define AMCT_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmctQuantize : Pass<"amct-quantize", "mlir::ModuleOp"> {
  let summary = "The whole PTQ job: fold constants, fuse, calibrate, fold observers";
  let description = [{
    `amct quantize` as one pass: the module becomes the fake-quant model.
    Follow it with --amct-convert for the deploy model:
      amct-opt M.onnx --amct-quantize="config=q.json calib-data=input=x.npy" --amct-convert -o deploy.onnx
    The steps, in order, are the ones `amct quantize` runs (see
    docs/Pipeline.md): --amct-fold-constants, --amct-fuse (per the
    config), DMQ balancing where the config enables it, observers,
    calibration on the executor, --amct-fold-observers.
  }];
  let options = [
    Option<"configPath", "config", "std::string", "\"\"",
           "quant config (AMCT JSON or .cfg); empty: the default config">,
    ListOption<"calibData", "calib-data", "std::string",
               "calibration inputs NAME=FILE.npy (or FILE.npy for a single-input model)">,
    Option<"batchNum", "batch-num", "int", "0", "calibration batches (0: the config's)">,
    Option<"batchSize", "batch-size", "int64_t", "0", "samples per batch (0: split evenly)">,
    Option<"recordPath", "record", "std::string", "\"\"", "also write the record file here">,
  ];
  let dependentDialects = ["::amct::AmctDialect", "::amct::ascend::AscendDialect"];
}

#endif // AMCT_PIPELINES_PASSES_TD
