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
    Option<"kvCacheConfigPath", "kv-cache-config", "std::string", "\"\"",
           "KV-cache config: int8 K / V projection outputs (alone or with a language-model config)">,
    ListOption<"calibData", "calib-data", "std::string",
               "calibration inputs NAME=FILE.npy (or FILE.npy for a single-input model)">,
    Option<"batchNum", "batch-num", "int", "0", "calibration batches (0: the config's)">,
    Option<"batchSize", "batch-size", "int64_t", "0", "samples per batch (0: split evenly)">,
    Option<"recordPath", "record", "std::string", "\"\"", "also write the record file here">,
  ];
  let dependentDialects = ["::amct::AmctDialect", "::amct::ascend::AscendDialect"];
}

def AmctCalibrate : Pass<"amct-calibrate", "mlir::ModuleOp"> {
  let summary = "Run the calibration data through the observers and write the record";
  let description = [{
    Calibration as a step of its own, between --amct-insert-calibration and
    --amct-fold-observers: the executor runs the batches over a module that
    carries observers, IFMR / HFMG compute each layer's scale_d / offset_d
    and ARQ its weights' scale_w, and the record is written to `record`
    (atomically). The module is left as it is, so a pipeline can go on:
      amct-opt calib.mlir --pass-pipeline='builtin.module(amct-calibrate{calib-data=input=x.npy record=r.txt},func.func(amct-fold-observers{record=r.txt}))'
    The same code as `amct calibrate` and `amct quantize`: the record equals
    the one-shot record byte for byte. batch-num 0 takes the config's
    batch_num that --amct-insert-calibration recorded.
  }];
  let options = [
    ListOption<"calibData", "calib-data", "std::string",
               "calibration inputs NAME=FILE.npy (or FILE.npy for a single-input model)">,
    Option<"batchNum", "batch-num", "int", "0", "calibration batches (0: the config's)">,
    Option<"batchSize", "batch-size", "int64_t", "0", "samples per batch (0: split evenly)">,
    Option<"recordPath", "record", "std::string", "\"\"", "the record file to write">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

#endif // AMCT_PIPELINES_PASSES_TD
