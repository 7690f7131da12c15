//===- Signal.cpp - window functions, DFT and STFT ------------------------===//
//
// HannWindow, HammingWindow, BlackmanWindow, DFT, STFT, MelWeightMatrix (opset 17):
// audio front ends exported into the graph. The transforms are direct sums
// in double (O(n^2) per signal): exact enough for any frame length, fast
// enough for the frame sizes of audio models.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

enum class Window { Hann, Hamming, Blackman };

template <Window W>
LogicalResult windowKernel(KernelContext &ctx) {
  const Tensor &sizeT = ctx.in(0);
  if (failed(requireInts(ctx, sizeT, "size")) || sizeT.numElements() != 1)
    return ctx.error() << "size must be one integer";
  int64_t n = readInts(sizeT)[0];
  if (n < 0)
    return ctx.error() << "size " << n << " is negative";
  bool periodic = ctx.attrs().getInt("periodic", 1) != 0;
  Type t = getElementTypeForOnnxDataType(ctx.op->getContext(),
                                         ctx.attrs().getInt("output_datatype", 1));
  std::optional<DType> dtype = t ? getDType(t) : std::nullopt;
  if (!dtype)
    return ctx.error() << "unsupported output_datatype";
  if (failed(ctx.alloc(0, *dtype, {n})))
    return failure();
  double denom = periodic ? double(n) : double(n - 1);
  return dispatch(ctx, *dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    T *out = ctx.outputs[0].mutableData<T>();
    for (int64_t i = 0; i < n; ++i) {
      double a = denom > 0 ? 2 * M_PI * i / denom : 0.0, v;
      if constexpr (W == Window::Hann)
        v = 0.5 - 0.5 * std::cos(a);
      else if constexpr (W == Window::Hamming)
        v = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(a);
      else
        v = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a);
      out[i] = T(v);
    }
    return success();
  });
}

/// X[k] = sum_n x[n] e^(-+2 pi i k n / N) over n < min(len, N) (the signal
/// zero-padded or cut to N), k < bins; `scale` 1 / N for the inverse.
void dft(const std::vector<double> &re, const std::vector<double> &im, int64_t n, int64_t bins,
         bool inverse, std::vector<double> &outRe, std::vector<double> &outIm) {
  outRe.assign(bins, 0);
  outIm.assign(bins, 0);
  int64_t len = std::min<int64_t>(n, re.size());
  double sign = inverse ? 1 : -1;
  for (int64_t k = 0; k < bins; ++k) {
    double sr = 0, si = 0;
    for (int64_t j = 0; j < len; ++j) {
      double a = sign * 2 * M_PI * double((k * j) % n) / double(n);
      double c = std::cos(a), s = std::sin(a);
      sr += re[j] * c - im[j] * s;
      si += re[j] * s + im[j] * c;
    }
    outRe[k] = inverse ? sr / n : sr;
    outIm[k] = inverse ? si / n : si;
  }
}

/// DFT along `axis` of a [batch, ..., 1 | 2] signal (real or complex
/// pairs); the output holds complex pairs.
LogicalResult dftKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() < 3 || (x.dim(x.rank() - 1) != 1 && x.dim(x.rank() - 1) != 2))
    return ctx.error() << "signal must be [batch, ..., 1 or 2]";
  if (failed(requireF32(ctx, x, "signal")))
    return failure();
  int64_t axis = ctx.attrs().getInt("axis", 1);
  if (axis < 0)
    axis += x.rank();
  if (axis < 1 || axis >= x.rank() - 1)
    return ctx.error() << "axis must be a signal dim";
  bool inverse = ctx.attrs().getInt("inverse", 0) != 0,
       onesided = ctx.attrs().getInt("onesided", 0) != 0;
  int64_t n = x.dim(axis);
  if (ctx.has(1) && ctx.in(1).numElements()) {
    if (failed(requireInts(ctx, ctx.in(1), "dft_length")))
      return failure();
    n = readInts(ctx.in(1))[0];
    if (n < 1)
      return ctx.error() << "dft_length must be >= 1";
  }
  int64_t bins = onesided ? n / 2 + 1 : n;
  bool complexIn = x.dim(x.rank() - 1) == 2;
  Shape out = x.shape();
  out[axis] = bins;
  out.back() = 2;
  if (failed(ctx.alloc(0, DType::F32, out)))
    return failure();
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1, x.rank() - 1), cin = complexIn ? 2 : 1;
  std::vector<double> re(len), im(len), oRe, oIm;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      for (int64_t j = 0; j < len; ++j) {
        const float *p = x.data<float>() + ((o * len + j) * inner + i) * cin;
        re[j] = p[0];
        im[j] = complexIn ? p[1] : 0.0;
      }
      dft(re, im, n, bins, inverse, oRe, oIm);
      for (int64_t k = 0; k < bins; ++k) {
        float *q = ctx.outputs[0].mutableData<float>() + ((o * bins + k) * inner + i) * 2;
        q[0] = oRe[k];
        q[1] = oIm[k];
      }
    }
  return success();
}

/// STFT of a [batch, length, 1 | 2] signal: frames of frame_length every
/// frame_step samples, times the window, each transformed.
LogicalResult stftKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2) || failed(requireF32(ctx, x, "signal")))
    return ctx.error() << "signal must be float32 [batch, length, 1 or 2]";
  if (failed(requireInts(ctx, ctx.in(1), "frame_step")))
    return failure();
  int64_t step = readInts(ctx.in(1))[0];
  const Tensor *window = ctx.has(2) && ctx.in(2).numElements() ? &ctx.in(2) : nullptr;
  int64_t frame = window ? window->numElements() : 0;
  if (ctx.has(3) && ctx.in(3).numElements()) {
    if (failed(requireInts(ctx, ctx.in(3), "frame_length")))
      return failure();
    frame = readInts(ctx.in(3))[0];
  }
  if (window && (window->numElements() != frame || failed(requireF32(ctx, *window, "window"))))
    return ctx.error() << "window must hold frame_length float32 values";
  int64_t len = x.dim(1);
  if (step < 1 || frame < 1 || frame > len)
    return ctx.error() << "frame_step must be >= 1 and frame_length in [1, " << len << "]";
  bool onesided = ctx.attrs().getInt("onesided", 1) != 0;
  int64_t frames = (len - frame) / step + 1, bins = onesided ? frame / 2 + 1 : frame;
  if (failed(ctx.alloc(0, DType::F32, {x.dim(0), frames, bins, 2})))
    return failure();
  bool complexIn = x.dim(2) == 2;
  std::vector<double> re(frame), im(frame), oRe, oIm;
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t j = 0; j < frame; ++j) {
        const float *p = x.data<float>() + (b * len + f * step + j) * x.dim(2);
        double w = window ? window->data<float>()[j] : 1.0;
        re[j] = p[0] * w;
        im[j] = complexIn ? p[1] * w : 0.0;
      }
      dft(re, im, frame, bins, false, oRe, oIm);
      for (int64_t k = 0; k < bins; ++k) {
        float *q = ctx.outputs[0].mutableData<float>() + ((b * frames + f) * bins + k) * 2;
        q[0] = oRe[k];
        q[1] = oIm[k];
      }
    }
  return success();
}

/// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters
/// between mel-spaced edges, bins rounded down as ONNX's definition does.
LogicalResult melWeightMatrixKernel(KernelContext &ctx) {
  auto scalar = [&](unsigned i, StringRef what) -> FailureOr<double> {
    const Tensor &t = ctx.in(i);
    if (t.numElements() != 1)
      return ctx.error() << what << " must hold one value";
    double v = 0;
    if (failed(dispatch(ctx, t.dtype(), [&](auto tag) -> LogicalResult {
          v = double(t.data<decltype(tag)>()[0]);
          return success();
        })))
      return failure();
    return v;
  };
  FailureOr<double> melBins = scalar(0, "num_mel_bins"), dftLen = scalar(1, "dft_length"),
                    rate = scalar(2, "sample_rate"), lo = scalar(3, "lower_edge_hertz"),
                    hi = scalar(4, "upper_edge_hertz");
  if (failed(melBins) || failed(dftLen) || failed(rate) || failed(lo) || failed(hi))
    return failure();
  int64_t m = saturateCast<int64_t>(*melBins), n = saturateCast<int64_t>(*dftLen);
  if (m < 1 || n < 1 || m > (1 << 16) || n > (1 << 24) || !(*rate > 0) || !(*lo >= 0) ||
      !(*hi > *lo))
    return ctx.error() << "num_mel_bins (at most 65536), dft_length (at most 2^24) and "
                          "sample_rate must be positive and 0 <= lower_edge_hertz < "
                          "upper_edge_hertz";
  Type t = getElementTypeForOnnxDataType(ctx.op->getContext(),
                                         ctx.attrs().getInt("output_datatype", 1));
  std::optional<DType> dtype = t ? getDType(t) : std::nullopt;
  if (!dtype)
    return ctx.error() << "unsupported output_datatype";
  int64_t specBins = n / 2 + 1;
  double lowMel = 2595 * std::log10(1 + *lo / 700), highMel = 2595 * std::log10(1 + *hi / 700);
  double step = (highMel - lowMel) / double(m + 2);
  std::vector<int64_t> edge(m + 2);
  for (int64_t i = 0; i < m + 2; ++i) {
    double hz = 700 * (std::pow(10.0, (i * step + lowMel) / 2595) - 1);
    edge[i] = saturateCast<int64_t>(std::floor((n + 1) * hz / *rate));
  }
  std::vector<double> w(specBins * m, 0.0);
  auto set = [&](int64_t j, int64_t i, double v) {
    if (j >= 0 && j < specBins)
      w[j * m + i] = v;
  };
  for (int64_t i = 0; i < m; ++i) {
    int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
    if (center == left)
      set(center, i, 1);
    else
      for (int64_t j = left; j <= center; ++j)
        set(j, i, double(j - left) / double(center - left));
    if (right > center)
      for (int64_t j = center; j < right; ++j)
        set(j, i, double(right - j) / double(right - center));
  }
  if (failed(ctx.alloc(0, *dtype, {specBins, m})))
    return failure();
  return dispatch(ctx, *dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    for (size_t k = 0; k < w.size(); ++k)
      ctx.outputs[0].mutableData<T>()[k] = T(w[k]);
    return success();
  });
}

} // namespace

void registerSignalKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "HannWindow", 17, any, windowKernel<Window::Hann>);
  r.add("", "HammingWindow", 17, any, windowKernel<Window::Hamming>);
  r.add("", "BlackmanWindow", 17, any, windowKernel<Window::Blackman>);
  r.add("", "DFT", 17, any, dftKernel);
  r.add("", "STFT", 17, any, stftKernel).inputs(2);
  r.add("", "MelWeightMatrix", 17, any, melWeightMatrixKernel).inputs(5);
}

} // namespace amct::rt
