//===- SaveModels.h - a quantize or convert job's files ---------*- C++ -*-===//
//
// AMCT's save_model file set, written by `amct quantize`, `amct convert`
// and the Python module alike: the fake-quant and deploy models for a
// prefix P (P_fake_quant_model.onnx, P_deploy_model.onnx), the record and
// the fused (AMCT's "modified") model, all or nothing.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TARGET_ONNX_SAVEMODELS_H
#define AMCT_TARGET_ONNX_SAVEMODELS_H

#include "amct/Pipelines/AutoCalibrate.h"
#include "amct/Pipelines/Prune.h"
#include "amct/Transforms/Decompose.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Support/ToolSupport.h"

#include <string>

namespace amct {

/// Which files to write; an empty path is not written.
struct SaveModelsOptions {
  std::string fakeQuantPath, deployPath, recordPath, modifiedPath;
  /// The models' weights as ONNX external data (done anyway past 2 GiB).
  bool externalData = false;
  /// More files of the same job (the report), in the same all-or-nothing set.
  std::vector<OutputFile> extraFiles;
  /// More models of the same job (the pruned fp32 model of prune +
  /// quantize), written as ONNX in the same set.
  std::vector<std::pair<mlir::ModuleOp, std::string>> extraModels;
};

/// AMCT's names for the models saved under prefix `savePath`.
std::string fakeQuantModelPath(llvm::StringRef savePath);
std::string deployModelPath(llvm::StringRef savePath);

/// Writes the files of `result` through temporary files renamed into place
/// only when every one was written (the models' folder created): a failure
/// leaves no new file and earlier ones untouched. On failure `error` holds
/// the reason, or is empty when a diagnostic was emitted.
mlir::LogicalResult saveQuantizeResult(const QuantizeResult &result,
                                       const SaveModelsOptions &options, std::string &error);

/// auto calibration's files under prefix `savePath`: P_quant_config.json
/// (the config found), P_fake_quant_model.onnx, P_deploy_model.onnx and
/// P_record.txt, all or nothing; the paths written in `files` (config,
/// fake-quant, deploy, record).
mlir::LogicalResult saveAutoCalibrateResult(const AutoCalibrateResult &result,
                                            llvm::StringRef savePath,
                                            std::vector<OutputFile> extraFiles,
                                            std::vector<std::string> &files, std::string &error);

/// `amct prune` as a library call (the CLI and Python share it): the
/// automatic search when `search` is set (its config becomes the job's
/// settings and P_prune_config.cfg), the job, then its files under
/// `savePath`. `lines` gets the summary the CLI prints, `files` the paths
/// written (model, record[, config]). On failure `error` holds the reason,
/// or is empty when a diagnostic was emitted.
mlir::LogicalResult runPruneAndSave(mlir::ModuleOp model, PruneJobOptions options,
                                    const std::optional<AutoPruneOptions> &search,
                                    llvm::StringRef savePath, bool externalData,
                                    std::vector<std::string> &lines,
                                    std::vector<std::string> &files, std::string &error);

/// `amct decompose` as a library call: fold constants, decompose (by the
/// settings, or re-applying `info`), write P_decomposed_model.onnx and
/// P_decompose_info.json; `lines` and `files` as runPruneAndSave's.
mlir::LogicalResult runDecomposeAndSave(mlir::ModuleOp model, const DecomposeSettings &settings,
                                        const std::vector<DecomposedLayer> *info,
                                        llvm::StringRef savePath, bool externalData,
                                        std::vector<std::string> &lines,
                                        std::vector<std::string> &files, std::string &error);

/// The prune job's files under prefix `savePath`: P_pruned_model.onnx and
/// P_prune_record.txt (and `extraFiles`: the automatic search's config),
/// all or nothing (the folder created); the model's and record's paths in
/// `files`.
mlir::LogicalResult savePruneResult(const PruneJobResult &result, llvm::StringRef savePath,
                                    bool externalData, std::vector<OutputFile> extraFiles,
                                    std::vector<std::string> &files, std::string &error);

/// The decomposition's files under prefix `savePath`:
/// P_decomposed_model.onnx and P_decompose_info.json (`infoJson`), all or
/// nothing; their paths in `files`.
mlir::LogicalResult saveDecomposeResult(mlir::ModuleOp model, const std::string &infoJson,
                                        llvm::StringRef savePath, bool externalData,
                                        std::vector<std::string> &files, std::string &error);

/// "cosine 0.999970 (fp32 1.000000, target 0.999970); repairs kept: ...;
/// layers in float: ...": the result line of the log and the summary.
std::string describeAutoCalibrateResult(const AutoCalibrateResult &result, AutoMetric metric);

} // namespace amct

#endif // AMCT_TARGET_ONNX_SAVEMODELS_H
