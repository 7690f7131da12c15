//===- Report.h - the per-layer sensitivity report (HTML) -------*- C++ -*-===//
//
// `amct quantize --report P_report.html`: one self-contained HTML file
// (inline SVG, no script, no network) showing where accuracy goes: per
// layer, the output cosine and SQNR fp32 against quantized (bar charts in
// graph order and sorted), the histogram of the activations the layer
// quantizes with the chosen clip range marked, the weight range of every
// output channel (outlier channels stand out), and the model's output
// cosine.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_REPORT_H
#define AMCT_PIPELINES_REPORT_H

#include "amct/Pipelines/Quantize.h"

#include <string>

namespace amct {

/// Renders the report of `result` (a CNN-flow quantize job, with its layer
/// comparison), running its fused fp32 model once on `samples` for the
/// activation histograms. `title` heads the page (the model's name).
mlir::FailureOr<std::string> renderQuantizeReport(const QuantizeResult &result,
                                                  const std::vector<rt::Tensor> &samples,
                                                  int threads, llvm::StringRef title);

/// The samples a report runs on: the first 64 (or fewer) of each graph
/// input's calibration data, in the fused model's input order.
std::vector<rt::Tensor> reportSamples(const QuantizeResult &result,
                                      const std::map<std::string, rt::Tensor> &calibData);

} // namespace amct

#endif // AMCT_PIPELINES_REPORT_H
