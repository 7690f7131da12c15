//===- Evaluate.cpp - amct evaluate (AMCT's ModelEvaluator) ---------------===//

#include "AmctTool.h"

#include "amct/Quant/Quant.h"
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

/// Row-wise views of a float output as [samples][features] in double.
static std::optional<std::vector<std::vector<double>>> rowsOf(const rt::Tensor &t) {
  if (t.dtype() != rt::DType::F32 || t.rank() == 0)
    return std::nullopt;
  int64_t n = t.dim(0), k = t.numElements() / std::max<int64_t>(1, n);
  std::vector<std::vector<double>> rows(n, std::vector<double>(k));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      rows[i][j] = t.data<float>()[i * k + j];
  return rows;
}

static int64_t argmax(const std::vector<double> &v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

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
  auto rows = rowsOf(outputs[which]);
  if (!rows) {
    llvm::errs() << tool << ": error: output '" << names[which]
                 << "' must be a float32 tensor with samples along dim 0\n";
    return kExitUserError;
  }
  std::string json = "{\n  \"model\": \"" + evModel + "\",\n  \"output\": \"" + names[which] +
                     "\",\n  \"samples\": " + std::to_string(rows->size());
  std::string error;
  if (!evLabels.empty()) {
    std::optional<rt::Tensor> labels = readNpy(evLabels, error);
    if (!labels || (labels->dtype() != rt::DType::I64 && labels->dtype() != rt::DType::I32) ||
        labels->numElements() != (int64_t)rows->size()) {
      llvm::errs() << tool << ": error: --labels " << evLabels << ": "
                   << (labels ? "expected " + std::to_string(rows->size()) +
                                    " int64 or int32 labels, found " +
                                    rt::formatShape(labels->shape()) + " " +
                                    rt::dtypeName(labels->dtype())
                              : error)
                   << "\n";
      return kExitUserError;
    }
    int64_t correct = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      int64_t label = labels->dtype() == rt::DType::I64 ? labels->data<int64_t>()[i]
                                                        : labels->data<int32_t>()[i];
      correct += argmax((*rows)[i]) == label;
    }
    json += llvm::formatv(",\n  \"top1_accuracy\": {0:F6}", (double)correct / rows->size()).str();
  }
  std::optional<rt::Tensor> reference;
  if (!evReference.empty()) {
    reference = readNpy(evReference, error);
    if (!reference) {
      llvm::errs() << tool << ": error: --reference: " << error << "\n";
      return kExitUserError;
    }
  } else if (!evReferenceModel.empty()) {
    std::vector<std::string> refNames;
    std::vector<rt::Tensor> refOutputs;
    if (int status = executeModel(tool, evReferenceModel, evInputs, evThreads, evBatchSize, refNames, refOutputs))
      return status;
    reference = refOutputs[std::min(which, refOutputs.size() - 1)];
  }
  if (reference) {
    auto refRows = rowsOf(*reference);
    if (!refRows || reference->shape() != outputs[which].shape()) {
      llvm::errs() << tool << ": error: the reference is " << rt::formatShape(reference->shape())
                   << " " << rt::dtypeName(reference->dtype()) << ", expected "
                   << rt::formatShape(outputs[which].shape()) << " float32\n";
      return kExitUserError;
    }
    double sumCos = 0, minCos = 1, maxDiff = 0;
    int64_t agree = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      const auto &a = (*rows)[i], &b = (*refRows)[i];
      quant::Cosine cosine;
      for (size_t j = 0; j < a.size(); ++j) {
        cosine.add(a[j], b[j]);
        maxDiff = std::max(maxDiff, std::abs(a[j] - b[j]));
      }
      double cos = cosine.value();
      sumCos += cos;
      minCos = std::min(minCos, cos);
      agree += argmax(a) == argmax(b);
    }
    double n = std::max<size_t>(1, rows->size());
    json += llvm::formatv(",\n  \"top1_agreement\": {0:F6},\n  \"mean_cosine\": {1:F8},\n"
                          "  \"min_cosine\": {2:F8},\n  \"max_abs_diff\": {3:E6}",
                          agree / n, sumCos / n, minCos, maxDiff)
                .str();
  }
  llvm::outs() << json << "\n}\n";
  return 0;
}

