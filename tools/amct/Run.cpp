//===- Run.cpp - amct run --------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Support/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::runCmd("run", "Run a model on the CPU executor: .npy inputs in, "
                                    "one .npy per graph output out");
static cl::opt<std::string> runModel("model", cl::desc("ONNX model or amct .mlir"),
                                     cl::Required, cl::value_desc("M.onnx|M.mlir"),
                                     cl::sub(runCmd));
static InputOptions runInputs(runCmd);
static cl::opt<std::string> runOutputDir("output-dir", cl::desc("folder for the outputs"),
                                         cl::Required, cl::value_desc("DIR"), cl::sub(runCmd));
static cl::opt<int> runThreads("threads", cl::desc("threads (default: all cores)"),
                               cl::init(0), cl::sub(runCmd));
static cl::opt<int64_t> runBatchSize("batch-size",
                                     cl::desc("run the inputs in batches of this many "
                                              "samples along dim 0 (default: all at once)"),
                                     cl::init(0), cl::sub(runCmd));

int amct::tool::runRun() {
  std::vector<std::string> outNames;
  std::vector<rt::Tensor> results;
  if (int status = executeModel("amct run", runModel, runInputs, runThreads, runBatchSize, outNames, results))
    return status;
  if (std::error_code ec = llvm::sys::fs::create_directories(runOutputDir)) {
    llvm::errs() << "amct run: error: cannot create " << runOutputDir << ": " << ec.message()
                 << "\n";
    return kExitUserError;
  }
  for (size_t o = 0; o < outNames.size(); ++o) {
    const rt::Tensor &result = results[o];
    SmallString<256> path(runOutputDir);
    llvm::sys::path::append(path, outputFileName(outNames[o]));
    std::string error;
    if (failed(writeFileAtomically(
            path,
            [&](llvm::raw_ostream &os) {
              os << serializeNpy(result);
              return success();
            },
            &error))) {
      llvm::errs() << "amct run: error: " << error << "\n";
      return kExitUserError;
    }
    llvm::outs() << outNames[o] << ": " << rt::formatShape(result.shape()) << " "
                 << rt::dtypeName(result.dtype())
                 << (result.dtype() == rt::DType::BF16 ? " (written as float32: .npy has no bfloat16)"
                                                       : "")
                 << " -> " << path << "\n";
  }
  return 0;
}

