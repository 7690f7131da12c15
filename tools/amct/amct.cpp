//===- amct.cpp - the amct user command line ------------------------------===//
//
// AMCT's Python API as commands: `amct <command> [options]`. Each command is
// a subcommand with its own --help, defined in its own file (AmctTool.h).
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace amct;
using namespace amct::tool;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "amct: model compression for the Ascend NPU\n\n"
                                   "  amct <command> --help   for a command's options\n",
                                   &llvm::errs()))
    return kExitUsageError;
  if (inspectCmd)
    return runInspect();
  if (runCmd)
    return runRun();
  if (createConfigCmd)
    return runCreateConfig();
  if (evaluateCmd)
    return runEvaluate();
  if (quantizeCmd)
    return runQuantize();
  if (calibrateCmd)
    return runCalibrate();
  if (kernelsCmd)
    return runKernels();
  if (convertCmd)
    return runConvert();
  if (autoCalibrateCmd)
    return runAutoCalibrate();
  if (pruneCmd)
    return runPrune();
  if (decomposeCmd)
    return runDecompose();
  llvm::errs() << "amct: error: no command given; see amct --help\n";
  return kExitUsageError;
}

