//===- SaveModels.cpp - a quantize or convert job's files -----------------===//

#include "amct/Target/ONNX/SaveModels.h"

#include "amct/Support/RecordFile.h"
#include "amct/Target/ONNX/ExportONNX.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace amct;

std::string amct::fakeQuantModelPath(StringRef savePath) {
  return savePath.str() + "_fake_quant_model.onnx";
}

std::string amct::deployModelPath(StringRef savePath) {
  return savePath.str() + "_deploy_model.onnx";
}

LogicalResult amct::saveQuantizeResult(const QuantizeResult &result,
                                       const SaveModelsOptions &options, std::string &error) {
  error.clear();
  std::vector<OutputFile> outputs;
  std::string recordText;
  if (!options.recordPath.empty()) {
    recordText = writeRecordFile(result.record);
    outputs.push_back({options.recordPath, [&](llvm::raw_ostream &os) {
                         os << recordText;
                         return success();
                       }});
  }
  std::vector<std::pair<ModuleOp, std::string>> models;
  for (auto [module, path] : {std::pair{result.fakeQuant.get(), &options.fakeQuantPath},
                              {result.deploy.get(), &options.deployPath},
                              {result.fused.get(), &options.modifiedPath}})
    if (!path->empty())
      models.push_back({module, *path});
  FailureOr<std::vector<OutputFile>> modelFiles = onnxOutputFiles(models, options.externalData);
  if (failed(modelFiles))
    return failure();
  llvm::append_range(outputs, *modelFiles);
  // Everything is computed; the save path's folder (AMCT creates it), then
  // the files. A record or modified model named into a missing folder is
  // an error, as any output file of the tools is.
  for (const std::string *path : {&options.fakeQuantPath, &options.deployPath})
    if (StringRef dir = llvm::sys::path::parent_path(*path); !dir.empty())
      if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
        error = "cannot create " + dir.str() + ": " + ec.message();
        return failure();
      }
  return writeFilesAtomically(outputs, &error);
}
