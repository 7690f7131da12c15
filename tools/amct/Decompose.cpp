//===- Decompose.cpp - amct decompose: tensor decomposition --------------===//
//
// AMCT's auto_decomposition (ranks by --ratio or --energy) and
// decompose_network (--info: the ranks of an earlier run, re-applied).
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Support/FileAccess.h"
#include "amct/Target/ONNX/SaveModels.h"
#include "amct/Transforms/Decompose.h"
#include "amct/Transforms/Passes.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::decomposeCmd("decompose",
                                        "Tensor decomposition: KxK Conv2d -> 1x1, KxK, 1x1 "
                                        "(Tucker-2); Linear / 1x1 Conv -> two thin layers (SVD)");
static cl::opt<std::string> dModel("model", cl::desc("ONNX model"), cl::Required,
                                   cl::value_desc("M.onnx"), cl::sub(decomposeCmd));
static cl::opt<std::string> dSavePath("save-path",
                                      cl::desc("output prefix P: P_decomposed_model.onnx, "
                                               "P_decompose_info.json"),
                                      cl::Required, cl::value_desc("P"), cl::sub(decomposeCmd));
static cl::opt<double> dRatio("ratio",
                              cl::desc("keep at most this share of each layer's multiply-adds, "
                                       "in (0, 1)"),
                              cl::init(0), cl::sub(decomposeCmd));
static cl::opt<double> dEnergy("energy",
                               cl::desc("keep this share of each weight's singular-value "
                                        "energy, in (0, 1]"),
                               cl::init(0), cl::sub(decomposeCmd));
static cl::opt<std::string> dInfo("info",
                                  cl::desc("re-apply a decomposition info file "
                                           "(P_decompose_info.json)"),
                                  cl::value_desc("FILE"), cl::sub(decomposeCmd));
static cl::opt<bool> dEvenIfLarger("even-if-larger",
                                   cl::desc("decompose even where the factors do not reduce "
                                            "FLOPs (full-rank checks)"),
                                   cl::sub(decomposeCmd));
static cl::list<std::string> dSkipLayers("skip-layers", cl::desc("layers not to decompose"),
                                         cl::CommaSeparated, cl::value_desc("NAME,..."),
                                         cl::sub(decomposeCmd));
static cl::opt<bool> dExternalData("onnx-external-data",
                                   cl::desc("write the weights as ONNX external data"),
                                   cl::sub(decomposeCmd));

int amct::tool::runDecompose() {
  const char *tool = "amct decompose";
  int sources = int(dRatio.getNumOccurrences() > 0) + int(dEnergy.getNumOccurrences() > 0) +
                int(!dInfo.empty());
  if (sources != 1) {
    llvm::errs() << tool << ": error: give one of --ratio, --energy, --info\n";
    return kExitUsageError;
  }
  DecomposeSettings settings;
  if (dRatio.getNumOccurrences()) {
    if (!(dRatio > 0 && dRatio < 1)) {
      llvm::errs() << tool << ": error: --ratio " << formatG(dRatio, 6) << " is outside (0, 1)\n";
      return kExitUsageError;
    }
    settings.ratio = dRatio;
  }
  if (dEnergy.getNumOccurrences()) {
    if (!(dEnergy > 0 && dEnergy <= 1)) {
      llvm::errs() << tool << ": error: --energy " << formatG(dEnergy, 6)
                   << " is outside (0, 1]\n";
      return kExitUsageError;
    }
    settings.energy = dEnergy;
  }
  settings.evenIfLarger = dEvenIfLarger;
  settings.skipLayers.assign(dSkipLayers.begin(), dSkipLayers.end());
  std::optional<std::vector<DecomposedLayer>> info;
  std::string error;
  if (!dInfo.empty()) {
    std::string text;
    if (!readRegularFile(dInfo, text, error) ||
        !(info = parseDecomposeInfo(text, dInfo, error))) {
      llvm::errs() << tool << ": error: " << error << "\n";
      return kExitUserError;
    }
  }
  ToolSession session(tool);
  OwningOpRef<ModuleOp> module = session.loadModel(dModel);
  if (!module)
    return kExitUserError;
  std::vector<std::string> lines, files;
  if (failed(runDecomposeAndSave(*module, settings, info ? &*info : nullptr, dSavePath,
                                 dExternalData, lines, files, error))) {
    if (!error.empty())
      llvm::errs() << tool << ": error: " << error << "\n";
    return kExitUserError;
  }
  for (const std::string &line : lines)
    llvm::outs() << line << "\n";
  return 0;
}
