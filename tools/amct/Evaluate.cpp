//===- Evaluate.cpp - amct evaluate (AMCT's ModelEvaluator) ---------------===//

#include "AmctTool.h"

#include "amct/Pipelines/Metrics.h"
#include "amct/Support/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::evaluateCmd("evaluate",
                                  "Accuracy of a model: top-1 against labels, agreement and "
                                  "cosine similarity against a reference output");
static InputOptions evInputs(evaluateCmd);
static cl::opt<std::string> evModel("model", cl::desc("ONNX model or amct .mlir"), cl::Required,
                                    cl::value_desc("M.onnx"), cl::sub(evaluateCmd));
static cl::opt<std::string> evLabels("labels", cl::desc("int labels, one per sample (.npy)"),
                                     cl::value_desc("y.npy"), cl::sub(evaluateCmd));
static cl::opt<std::string> evReference("reference",
                                        cl::desc("reference output to compare with (.npy)"),
                                        cl::value_desc("R.npy"), cl::sub(evaluateCmd));
static cl::opt<std::string> evReferenceModel("reference-model",
                                             cl::desc("or a model whose output is the reference"),
                                             cl::value_desc("R.onnx"), cl::sub(evaluateCmd));
static cl::opt<std::string> evOutput("output", cl::desc("graph output to evaluate (default: the first)"),
                                     cl::sub(evaluateCmd));
static cl::opt<int64_t> evBatchSize("batch-size", cl::desc("samples per run"), cl::init(0),
                                    cl::sub(evaluateCmd));
static cl::opt<int> evThreads("threads", cl::desc("threads"), cl::init(0), cl::sub(evaluateCmd));

int amct::tool::runEvaluate() {
  const char *tool = "amct evaluate";
  std::vector<std::string> names;
  std::vector<rt::Tensor> outputs;
  if (int status = executeModel(tool, evModel, evInputs, evThreads,
                                evBatchSize, names, outputs))
    return status;
  size_t which = 0;
  if (!evOutput.empty()) {
    auto it = llvm::find(names, evOutput);
    if (it == names.end()) {
      llvm::errs() << tool << ": error: --output '" << evOutput << "' is not an output of "
                   << evModel << " (outputs: " << llvm::join(names, ", ") << ")\n";
      return kExitUserError;
    }
    which = it - names.begin();
  }
  std::string error;
  std::optional<rt::Tensor> labels, reference;
  if (!evLabels.empty()) {
    labels = readNpy(evLabels, error);
    if (!labels) {
      llvm::errs() << tool << ": error: --labels " << evLabels << ": " << error << "\n";
      return kExitUserError;
    }
  }
  if (!evReference.empty()) {
    reference = readNpy(evReference, error);
    if (!reference) {
      llvm::errs() << tool << ": error: --reference: " << error << "\n";
      return kExitUserError;
    }
  } else if (!evReferenceModel.empty()) {
    std::vector<std::string> refNames;
    std::vector<rt::Tensor> refOutputs;
    if (int status = executeModel(tool, evReferenceModel, evInputs, evThreads, evBatchSize,
                                  refNames, refOutputs))
      return status;
    reference = refOutputs[std::min(which, refOutputs.size() - 1)];
  }
  // Checked one at a time, so the message names what does not fit.
  std::optional<OutputMetrics> m = computeOutputMetrics(outputs[which], nullptr, nullptr, error);
  if (!m) {
    llvm::errs() << tool << ": error: output '" << names[which] << "': " << error << "\n";
    return kExitUserError;
  }
  if (labels && !computeOutputMetrics(outputs[which], &*labels, nullptr, error)) {
    llvm::errs() << tool << ": error: --labels " << evLabels << ": " << error << "\n";
    return kExitUserError;
  }
  m = computeOutputMetrics(outputs[which], labels ? &*labels : nullptr,
                           reference ? &*reference : nullptr, error);
  if (!m) {
    llvm::errs() << tool << ": error: " << error << "\n";
    return kExitUserError;
  }
  std::string json = "{\n  \"model\": \"" + evModel + "\",\n  \"output\": \"" + names[which] +
                     "\",\n  \"samples\": " + std::to_string(m->samples);
  if (m->top1Accuracy)
    json += llvm::formatv(",\n  \"top1_accuracy\": {0:F6}", *m->top1Accuracy).str();
  if (m->meanCosine)
    json += llvm::formatv(",\n  \"top1_agreement\": {0:F6},\n  \"mean_cosine\": {1:F8},\n"
                          "  \"min_cosine\": {2:F8},\n  \"max_abs_diff\": {3:E6}",
                          *m->top1Agreement, *m->meanCosine, *m->minCosine, *m->maxAbsDiff)
                .str();
  llvm::outs() << json << "\n}\n";
  return 0;
}
