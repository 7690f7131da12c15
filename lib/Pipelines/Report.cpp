//===- Report.cpp - the per-layer sensitivity report (HTML) ---------------===//

#include "amct/Pipelines/Report.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Runtime/Executor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace amct;

namespace {

struct LayerData {
  std::string name, type;
  std::optional<double> cosine, sqnr;
  // The quantized input's histogram over [lo, hi] and the clip range.
  std::vector<int64_t> histogram;
  double lo = 0, hi = 0;
  std::optional<std::pair<double, double>> clip;
  // Per output channel: the weight's min and max.
  std::vector<float> wMin, wMax;
};

std::string escape(StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string fmt(double v, int digits = 4) {
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buffer[32];
  snprintf(buffer, sizeof(buffer), "%.*g", digits, v);
  return buffer;
}

std::string shorten(StringRef name, size_t width = 44) {
  if (name.size() <= width)
    return name.str();
  return "…" + name.take_back(width - 1).str();
}

/// Horizontal bars, one row per (label, value); values as given (bar length
/// scaled to the largest), each row labelled with `text`.
std::string barChart(StringRef id, StringRef title,
                     const std::vector<std::tuple<std::string, double, std::string>> &rows,
                     StringRef color) {
  const int rowHeight = 16, labelWidth = 330, barWidth = 420, top = 24;
  int height = top + rowHeight * int(rows.size()) + 8;
  double max = 0;
  for (const auto &[label, value, text] : rows)
    if (std::isfinite(value))
      max = std::max(max, value);
  std::string svg = llvm::formatv("<svg class=\"chart\" id=\"{0}\" xmlns=\"http://www.w3.org/2000/svg\" "
                                  "width=\"{1}\" height=\"{2}\" role=\"img\">\n"
                                  "<text x=\"0\" y=\"15\" class=\"title\">{3}</text>\n",
                                  id, labelWidth + barWidth + 90, height, escape(title))
                        .str();
  for (auto [i, row] : llvm::enumerate(rows)) {
    const auto &[label, value, text] = row;
    int y = top + int(i) * rowHeight;
    double fraction = max > 0 && std::isfinite(value) ? std::max(0.0, value) / max : 1.0;
    svg += llvm::formatv("<text x=\"{0}\" y=\"{1}\" class=\"label\" text-anchor=\"end\">{2}</text>"
                         "<rect x=\"{3}\" y=\"{4}\" width=\"{5:F1}\" height=\"{6}\" fill=\"{7}\">"
                         "<title>{8}: {9}</title></rect>"
                         "<text x=\"{10:F1}\" y=\"{1}\" class=\"value\">{9}</text>\n",
                         labelWidth - 6, y + 12, escape(shorten(label)), labelWidth, y + 2,
                         std::max(1.0, fraction * barWidth), rowHeight - 4, color,
                         escape(label), escape(text), labelWidth + fraction * barWidth + 4)
               .str();
  }
  return svg + "</svg>\n";
}

/// The activation histogram, the clip range as two red lines.
std::string histogramChart(const LayerData &l, int index) {
  const int width = 500, height = 150, pad = 28;
  int64_t peak = 1;
  for (int64_t c : l.histogram)
    peak = std::max(peak, c);
  std::string svg = llvm::formatv("<svg class=\"chart hist\" id=\"hist-{0}\" xmlns=\"http://www.w3.org/2000/svg\" "
                                  "width=\"{1}\" height=\"{2}\" role=\"img\">\n"
                                  "<text x=\"0\" y=\"12\" class=\"title\">input values "
                                  "(sqrt of the count), clip range in red</text>\n",
                                  index, width, height + pad)
                        .str();
  double span = std::max(l.hi - l.lo, 1e-30);
  auto xOf = [&](double v) { return (v - l.lo) / span * width; };
  double binWidth = double(width) / std::max<size_t>(1, l.histogram.size());
  for (auto [i, c] : llvm::enumerate(l.histogram)) {
    double h = std::sqrt(double(c) / double(peak)) * (height - 20);
    svg += llvm::formatv("<rect x=\"{0:F1}\" y=\"{1:F1}\" width=\"{2:F1}\" height=\"{3:F1}\" "
                         "fill=\"#4a78b8\"/>",
                         i * binWidth, 16 + (height - 20) - h, std::max(0.5, binWidth - 0.5), h)
               .str();
  }
  if (l.clip)
    for (double v : {l.clip->first, l.clip->second})
      svg += llvm::formatv("<line x1=\"{0:F1}\" y1=\"14\" x2=\"{0:F1}\" y2=\"{1}\" stroke=\"#d62728\" "
                           "stroke-width=\"2\"><title>clip {2}</title></line>",
                           std::clamp(xOf(v), 1.0, width - 1.0), height, fmt(v))
                 .str();
  svg += llvm::formatv("\n<text x=\"0\" y=\"{0}\" class=\"label\">{1}</text>"
                       "<text x=\"{2}\" y=\"{0}\" class=\"label\" text-anchor=\"end\">{3}</text>\n",
                       height + 14, fmt(l.lo), width, fmt(l.hi))
             .str();
  return svg + "</svg>\n";
}

/// Each output channel's weight range as a vertical segment.
std::string weightChart(const LayerData &l, int index) {
  const int width = 500, height = 150;
  size_t n = l.wMin.size();
  double lo = 0, hi = 0;
  for (size_t c = 0; c < n; ++c) {
    lo = std::min<double>(lo, l.wMin[c]);
    hi = std::max<double>(hi, l.wMax[c]);
  }
  double span = std::max(hi - lo, 1e-30);
  auto yOf = [&](double v) { return 16 + (hi - v) / span * (height - 20); };
  std::string svg = llvm::formatv("<svg class=\"chart weights\" id=\"weights-{0}\" xmlns=\"http://www.w3.org/2000/svg\" "
                                  "width=\"{1}\" height=\"{2}\" role=\"img\">\n"
                                  "<text x=\"0\" y=\"12\" class=\"title\">weight range of each of "
                                  "the {3} output channels</text>\n",
                                  index, width, height + 16, n)
                        .str();
  svg += llvm::formatv("<line x1=\"0\" y1=\"{0:F1}\" x2=\"{1}\" y2=\"{0:F1}\" stroke=\"#999\"/>",
                       yOf(0), width)
             .str();
  double step = double(width) / std::max<size_t>(1, n);
  for (size_t c = 0; c < n; ++c)
    svg += llvm::formatv("<line x1=\"{0:F1}\" y1=\"{1:F1}\" x2=\"{0:F1}\" y2=\"{2:F1}\" "
                         "stroke=\"#2ca02c\" stroke-width=\"{3:F1}\"><title>channel {4}: {5} .. "
                         "{6}</title></line>",
                         (c + 0.5) * step, yOf(l.wMax[c]), yOf(l.wMin[c]),
                         std::clamp(step * 0.7, 1.0, 6.0), c, fmt(l.wMin[c]), fmt(l.wMax[c]))
               .str();
  svg += llvm::formatv("\n<text x=\"0\" y=\"{0}\" class=\"label\">max {1}, min {2}</text>\n",
                       height + 12, fmt(hi), fmt(lo))
             .str();
  return svg + "</svg>\n";
}

} // namespace

FailureOr<std::string> amct::renderQuantizeReport(const QuantizeResult &result,
                                                  const std::vector<rt::Tensor> &samples,
                                                  int threads, StringRef title) {
  ModuleOp any = ModuleOp(result.fused.get());
  if (!any)
    any = ModuleOp(result.deploy.get());
  if (!any)
    return failure(); // no job ran: nothing to report, nothing to say it on
  if (!result.layerMethod.empty() || result.quantized.empty() || !result.fused)
    return emitError(UnknownLoc::get(any.getContext()),
                     "the report covers the layer-config (CNN) flow; this job quantized no such "
                     "layer");
  // Per layer, in graph order: the comparison, the clip range, the weights.
  std::vector<LayerData> layers;
  llvm::StringMap<size_t> index;
  OwningOpRef<ModuleOp> fused = ModuleOp(result.fused.get()).clone();
  func::FuncOp main = getMainFunction(*fused);
  llvm::StringMap<QuantizableLayer> inFused;
  for (const QuantizableLayer &l : findQuantizableLayers(main, nullptr))
    inFused[l.name] = l;
  std::vector<Operation *> stops;
  for (const QuantizableLayer &q : result.quantized) {
    LayerData d;
    d.name = q.name;
    d.type = q.type;
    if (auto it = result.layerCosine.find(q.name); it != result.layerCosine.end())
      d.cosine = it->second;
    if (auto it = result.layerSqnr.find(q.name); it != result.layerSqnr.end())
      d.sqnr = it->second;
    if (const LayerRecord *r = result.record.find(q.name); r && r->scaleD) {
      double s = *r->scaleD, o = r->offsetD.value_or(0);
      d.clip = {(-128 - o) * s, (127 - o) * s};
    }
    auto f = inFused.find(q.name);
    if (f != inFused.end()) {
      stops.push_back(f->second.op);
      if (f->second.weightOperand >= 0) {
        Value w = f->second.op->getOperand(f->second.weightOperand);
        auto type = dyn_cast<RankedTensorType>(w.getType());
        if (std::optional<std::vector<float>> values = getConstantFloats(w); values && type) {
          int64_t axis = f->second.weightChannelAxis, channels = type.getDimSize(axis), inner = 1;
          for (int64_t i = axis + 1; i < type.getRank(); ++i)
            inner *= type.getDimSize(i);
          d.wMin.assign(channels, INFINITY);
          d.wMax.assign(channels, -INFINITY);
          for (size_t i = 0; i < values->size(); ++i) {
            int64_t c = (int64_t(i) / inner) % channels;
            d.wMin[c] = std::min(d.wMin[c], (*values)[i]);
            d.wMax[c] = std::max(d.wMax[c], (*values)[i]);
          }
        }
      }
    }
    index[q.name] = layers.size();
    layers.push_back(std::move(d));
  }

  // The activations each layer quantizes, in the fp32 model.
  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(main, options);
  if (failed(executor))
    return failure();
  auto run = (*executor)->startStepped(samples, stops);
  if (failed(run))
    return failure();
  llvm::DenseMap<Operation *, std::string> nameOf;
  for (auto &entry : inFused)
    nameOf[entry.second.op] = entry.first().str();
  while (true) {
    FailureOr<Operation *> at = (*run)->next();
    if (failed(at))
      return failure();
    if (!*at)
      break;
    LayerData &d = layers[index[nameOf[*at]]];
    const rt::Tensor &x = (*run)->operand(inFused[d.name].dataOperand);
    if (x.dtype() != rt::DType::F32 || x.numElements() == 0)
      continue;
    const float *v = x.data<float>();
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < x.numElements(); ++i)
      if (std::isfinite(v[i])) {
        lo = std::min<double>(lo, v[i]);
        hi = std::max<double>(hi, v[i]);
      }
    if (d.clip) {
      lo = std::min(lo, d.clip->first);
      hi = std::max(hi, d.clip->second);
    }
    if (!(hi > lo))
      hi = lo + 1;
    d.lo = lo;
    d.hi = hi;
    d.histogram.assign(64, 0);
    for (int64_t i = 0; i < x.numElements(); ++i)
      if (std::isfinite(v[i]))
        ++d.histogram[std::min<int64_t>(63, int64_t((v[i] - lo) / (hi - lo) * 64))];
  }
  if (failed((*run)->results()))
    return failure();

  // The page.
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      escape(title) +
      " quantization report</title>\n<style>\n"
      "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}"
      "h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:14px;margin:18px 0 4px}"
      "svg{display:block;margin:6px 0;background:#fafafa}"
      ".title{font-size:12px;font-weight:bold;fill:#333}.label{font-size:10px;fill:#444}"
      ".value{font-size:10px;fill:#222}.pair{display:flex;gap:16px;flex-wrap:wrap}"
      "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}\n"
      "</style>\n</head>\n<body>\n<h1>" +
      escape(title) + " quantization report</h1>\n<p>";
  for (const auto &[name, cos] : result.outputCosine)
    html += "Model output <b>" + escape(name) + "</b>: cosine " +
            llvm::formatv("{0:F6}", cos).str() + " fp32 against fake-quant. ";
  html += std::to_string(result.quantized.size()) + " layers quantized, " +
          std::to_string(result.skipped.size()) + " skipped; compared on " +
          std::to_string(result.cosineSamples) + " calibration samples.</p>\n";

  std::vector<std::tuple<std::string, double, std::string>> loss, sqnr;
  for (const LayerData &d : layers) {
    double l = d.cosine ? std::max(1e-12, 1 - *d.cosine) : 0;
    // The bar is -log10(1 - cosine): longer is closer to fp32.
    loss.push_back({d.name, d.cosine ? -std::log10(l) : 0,
                    d.cosine ? llvm::formatv("cosine {0:F6}", *d.cosine).str() : "-"});
    sqnr.push_back({d.name, d.sqnr ? *d.sqnr : 0, d.sqnr ? fmt(*d.sqnr) + " dB" : "-"});
  }
  auto sorted = loss;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto &a, const auto &b) { return std::get<1>(a) < std::get<1>(b); });
  html += "<h2>Layer output, fp32 against quantized</h2>\n";
  html += barChart("cosine-graph-order",
                   "-log10(1 - cosine) per layer in graph order (longer: closer to fp32)", loss,
                   "#4a78b8");
  html += barChart("cosine-sorted", "the same, most sensitive first", sorted, "#e07b39");
  html += barChart("sqnr", "SQNR per layer (dB)", sqnr, "#2ca02c");
  html += "<h2>Layers</h2>\n";
  for (auto [i, d] : llvm::enumerate(layers)) {
    html += "<h3 id=\"layer-" + std::to_string(i) + "\">" + escape(d.name) + " <small>(" +
            escape(d.type) + (d.cosine ? llvm::formatv(", cosine {0:F6}", *d.cosine).str() : "") +
            (d.sqnr ? ", SQNR " + fmt(*d.sqnr) + " dB" : "") +
            (d.clip ? ", clip " + fmt(d.clip->first) + " .. " + fmt(d.clip->second) : "") +
            ")</small></h3>\n<div class=\"pair\">\n";
    if (!d.histogram.empty())
      html += histogramChart(d, int(i));
    if (!d.wMin.empty())
      html += weightChart(d, int(i));
    html += "</div>\n";
  }
  if (!result.skipped.empty()) {
    html += "<h2>Skipped layers</h2>\n<table><tr><th>layer</th><th>type</th><th>reason</th></tr>\n";
    for (const SkippedLayer &s : result.skipped)
      html += "<tr><td>" + escape(s.name) + "</td><td>" + escape(s.type) + "</td><td>" +
              escape(s.reason) + "</td></tr>\n";
    html += "</table>\n";
  }
  return html + "</body>\n</html>\n";
}

std::vector<rt::Tensor> amct::reportSamples(const QuantizeResult &result,
                                            const std::map<std::string, rt::Tensor> &calibData) {
  std::vector<rt::Tensor> samples;
  func::FuncOp main = getMainFunction(*result.fused);
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    auto it = calibData.find(getGraphInputName(main, i));
    if (it == calibData.end())
      continue; // quantizeModel checked them all; the executor names a gap
    const rt::Tensor &t = it->second;
    samples.push_back(t.rank() > 0 && t.dim(0) > 64 ? t.rows(0, 64) : t);
  }
  return samples;
}
