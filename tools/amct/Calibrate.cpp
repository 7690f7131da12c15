//===- Calibrate.cpp - amct calibrate -------------------------------------===//
//
// Calibration as a step of its own: a module that already carries
// observers (amct-opt M.onnx --amct-prepare --amct-insert-calibration -o
// calib.mlir) runs on the calibration data and the record is written; the
// same code as `amct quantize`, so the record is the one-shot record.
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Support/RecordFile.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::calibrateCmd(
    "calibrate", "Run the calibration data through a module's observers and write the record "
                 "(the step between --amct-insert-calibration and --amct-fold-observers)");
static cl::opt<std::string> calModel("model",
                                     cl::desc("module with observers (.mlir, or .onnx exported "
                                              "from one)"),
                                     cl::Required, cl::value_desc("calib.mlir"),
                                     cl::sub(calibrateCmd));
static cl::list<std::string> calData("calib-data",
                                     cl::desc("calibration inputs NAME=FILE.npy (or FILE.npy for "
                                              "a single-input model)"),
                                     cl::value_desc("NAME=FILE"), cl::sub(calibrateCmd));
static cl::opt<int> calBatchNum("batch-num",
                                cl::desc("calibration batches (default: the config's batch_num "
                                         "recorded by --amct-insert-calibration)"),
                                cl::init(0), cl::sub(calibrateCmd));
static cl::opt<int64_t> calBatchSize("batch-size", cl::desc("samples per batch"), cl::init(0),
                                     cl::sub(calibrateCmd));
static cl::opt<std::string> calRecord("record", cl::desc("the record file to write"),
                                      cl::Required, cl::value_desc("r.txt"),
                                      cl::sub(calibrateCmd));
static cl::opt<int> calThreads("threads", cl::desc("threads (default: all cores)"), cl::init(0),
                               cl::sub(calibrateCmd));

int amct::tool::runCalibrate() {
  const char *tool = "amct calibrate";
  for (auto [flag, value] : {std::pair<const char *, int64_t>{"batch-num", calBatchNum},
                             {"batch-size", calBatchSize},
                             {"threads", calThreads}})
    if (value < 0) {
      llvm::errs() << tool << ": error: --" << flag << " must be >= 1 (0 or absent: the "
                   << "default), got " << value << "\n";
      return kExitUsageError;
    }
  if (calData.empty()) {
    llvm::errs() << tool << ": error: give the calibration data with --calib-data NAME=FILE.npy\n";
    return kExitUsageError;
  }
  ToolSession session(tool);
  OwningOpRef<ModuleOp> module = session.loadModel(calModel);
  if (!module)
    return kExitUserError;
  std::string error;
  std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
      std::vector<std::string>(calData.begin(), calData.end()), getMainFunction(*module), error);
  if (!data) {
    llvm::errs() << tool << ": error: " << error << "\n";
    return kExitUserError;
  }
  CalibrateModuleOptions options;
  options.data = std::move(*data);
  options.batchNum = calBatchNum;
  options.batchSize = calBatchSize;
  options.threads = calThreads;
  options.showProgress = true;
  Record record;
  if (failed(calibrateModule(*module, options, record)))
    return kExitUserError;
  std::string text = writeRecordFile(record);
  if (failed(writeFileAtomically(calRecord, [&](llvm::raw_ostream &os) {
        os << text;
        return success();
      }, &error))) {
    llvm::errs() << tool << ": error: " << error << "\n";
    return kExitUserError;
  }
  llvm::outs() << record.layers.size() << " layers calibrated; record: " << calRecord << "\n";
  return 0;
}
