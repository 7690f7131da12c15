//===- Recurrent.cpp - RNN, GRU and LSTM on BLAS --------------------------===//
//
// The ONNX recurrent ops with all their attributes: forward, reverse and
// bidirectional, per-batch sequence_lens, initial states, biases, LSTM
// peepholes and input_forget, GRU linear_before_reset, clip, layout 0 and
// 1, and the activation lists with their alpha / beta values. The input
// projections of every time step are one sgemm per direction; each step
// then adds H(t-1) * R^T (one sgemm) and applies the gates. Directions run
// in parallel; each is computed the same way for any thread count.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

enum class Cell { RNN, GRU, LSTM };

/// One activation function of the `activations` list with its parameters.
struct Activation {
  enum Kind { Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh,
              HardSigmoid, Elu, Softsign, Softplus } kind;
  float alpha = 0, beta = 0;

  float operator()(float x) const {
    switch (kind) {
    case Relu: return std::max(0.0f, x);
    case Tanh: return std::tanh(x);
    case Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Affine: return alpha * x + beta;
    case LeakyRelu: return x >= 0 ? x : alpha * x;
    case ThresholdedRelu: return x > alpha ? x : 0.0f;
    case ScaledTanh: return alpha * std::tanh(beta * x);
    case HardSigmoid: return std::max(0.0f, std::min(1.0f, alpha * x + beta));
    case Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
    case Softsign: return x / (1.0f + std::abs(x));
    case Softplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

/// The activations of all directions: `perDir` functions per direction,
/// the defaults when the attribute is absent; alpha and beta consumed in
/// order by the functions that take them (ONNX Runtime's reading).
FailureOr<std::vector<Activation>> readActivations(KernelContext &ctx, Cell cell, int dirs) {
  std::vector<std::string> names;
  if (auto a = dyn_cast_or_null<ArrayAttr>(ctx.attrs().get("activations"))) {
    for (Attribute n : a)
      if (auto s = dyn_cast<StringAttr>(n))
        names.push_back(s.str());
  }
  int perDir = cell == Cell::RNN ? 1 : cell == Cell::GRU ? 2 : 3;
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) {
      if (cell == Cell::RNN)
        names.push_back("Tanh");
      else
        names.insert(names.end(), {"Sigmoid", "Tanh"});
      if (cell == Cell::LSTM)
        names.push_back("Tanh");
    }
  } else if ((int)names.size() == perDir && dirs == 2) {
    // One list for both directions.
    std::vector<std::string> twice = names;
    names.insert(names.end(), twice.begin(), twice.end());
  }
  if ((int)names.size() != perDir * dirs)
    return ctx.error() << "activations lists " << names.size() << " functions, expected "
                       << perDir * dirs;
  std::vector<float> alphas = ctx.attrs().getFloats("activation_alpha").value_or(std::vector<float>{});
  std::vector<float> betas = ctx.attrs().getFloats("activation_beta").value_or(std::vector<float>{});
  size_t ai = 0, bi = 0;
  auto take = [](std::vector<float> &v, size_t &i, float def) { return i < v.size() ? v[i++] : def; };
  std::vector<Activation> acts;
  for (const std::string &raw : names) {
    std::string n = StringRef(raw).lower();
    Activation a;
    if (n == "relu") a.kind = Activation::Relu;
    else if (n == "tanh") a.kind = Activation::Tanh;
    else if (n == "sigmoid") a.kind = Activation::Sigmoid;
    else if (n == "affine") { a.kind = Activation::Affine; a.alpha = take(alphas, ai, 1.0f); a.beta = take(betas, bi, 0.0f); }
    else if (n == "leakyrelu") { a.kind = Activation::LeakyRelu; a.alpha = take(alphas, ai, 0.01f); }
    else if (n == "thresholdedrelu") { a.kind = Activation::ThresholdedRelu; a.alpha = take(alphas, ai, 1.0f); }
    else if (n == "scaledtanh") { a.kind = Activation::ScaledTanh; a.alpha = take(alphas, ai, 1.0f); a.beta = take(betas, bi, 1.0f); }
    else if (n == "hardsigmoid") { a.kind = Activation::HardSigmoid; a.alpha = take(alphas, ai, 0.2f); a.beta = take(betas, bi, 0.5f); }
    else if (n == "elu") { a.kind = Activation::Elu; a.alpha = take(alphas, ai, 1.0f); }
    else if (n == "softsign") a.kind = Activation::Softsign;
    else if (n == "softplus") a.kind = Activation::Softplus;
    else
      return ctx.error() << "unknown activation '" << raw << "'";
    acts.push_back(a);
  }
  return acts;
}

template <Cell C>
LogicalResult recurrentKernel(KernelContext &ctx) {
  constexpr int G = C == Cell::RNN ? 1 : C == Cell::GRU ? 3 : 4; // gates
  OnnxAttrs attrs = ctx.attrs();
  const Tensor &xIn = ctx.in(0), &w = ctx.in(1), &r = ctx.in(2);
  for (const Tensor *t : {&xIn, &w, &r})
    if (failed(requireF32(ctx, *t, "X, W and R")))
      return failure();
  int64_t layout = attrs.getInt("layout", 0);
  std::string direction = attrs.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return ctx.error() << "direction must be forward, reverse or bidirectional, found '"
                       << direction << "'";
  int dirs = direction == "bidirectional" ? 2 : 1;
  if (xIn.rank() != 3 || w.rank() != 3 || r.rank() != 3)
    return ctx.error() << "X, W and R must be 3-d";
  int64_t seq = layout ? xIn.dim(1) : xIn.dim(0), batch = layout ? xIn.dim(0) : xIn.dim(1),
          inSize = xIn.dim(2);
  int64_t hidden = attrs.getInt("hidden_size", w.dim(1) / G);
  int64_t gh = G * hidden;
  if (w.dim(0) != dirs || w.dim(1) != gh || w.dim(2) != inSize)
    return ctx.error() << "W has shape " << formatShape(w.shape()) << ", expected "
                       << formatShape({dirs, gh, inSize});
  if (r.dim(0) != dirs || r.dim(1) != gh || r.dim(2) != hidden)
    return ctx.error() << "R has shape " << formatShape(r.shape()) << ", expected "
                       << formatShape({dirs, gh, hidden});
  auto checkShape = [&](unsigned i, const Shape &want, StringRef what) -> LogicalResult {
    if (!ctx.has(i))
      return success();
    if (ctx.in(i).shape() != want || failed(requireF32(ctx, ctx.in(i), what)))
      return ctx.error() << what << " has shape " << formatShape(ctx.in(i).shape())
                         << ", expected float32 " << formatShape(want);
    return success();
  };
  Shape stateShape = layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  if (failed(checkShape(3, {dirs, 2 * gh}, "B")) || failed(checkShape(5, stateShape, "initial_h")))
    return failure();
  if (C == Cell::LSTM && (failed(checkShape(6, stateShape, "initial_c")) ||
                          failed(checkShape(7, {dirs, 3 * hidden}, "P"))))
    return failure();
  std::vector<int64_t> lens(batch, seq);
  if (ctx.has(4)) {
    if (failed(requireInts(ctx, ctx.in(4), "sequence_lens")) ||
        ctx.in(4).numElements() != batch)
      return ctx.error() << "sequence_lens must hold " << batch << " integers";
    lens = readInts(ctx.in(4));
    for (int64_t l : lens)
      if (l < 0 || l > seq)
        return ctx.error() << "sequence length " << l << " is outside [0, " << seq << "]";
  }
  FailureOr<std::vector<Activation>> acts = readActivations(ctx, C, dirs);
  if (failed(acts))
    return failure();
  bool hasClip = attrs.has("clip");
  float clip = attrs.getFloat("clip", 0.0f);
  bool inputForget = attrs.getInt("input_forget", 0) != 0;
  bool linearBeforeReset = attrs.getInt("linear_before_reset", 0) != 0;

  // X as [seq, batch, input].
  Tensor x = xIn;
  std::optional<Tensor> xT;
  if (layout) {
    xT = Tensor::uninitialized(DType::F32, {seq, batch, inSize});
    if (!xT)
      return ctx.error() << "cannot allocate the transposed input";
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seq; ++t)
        memcpy(xT->mutableData<float>() + (t * batch + b) * inSize,
               xIn.data<float>() + (b * seq + t) * inSize, inSize * sizeof(float));
    x = *xT;
  }
  unsigned numOutputs = ctx.op->getNumResults();
  Shape yShape = layout ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden};
  if (failed(ctx.alloc(0, DType::F32, yShape, /*zeroed=*/true)))
    return failure();
  for (unsigned o = 1; o < numOutputs && o < 3; ++o)
    if (failed(ctx.alloc(o, DType::F32, stateShape)))
      return failure();
  std::optional<Tensor> xw = Tensor::uninitialized(DType::F32, {dirs, seq * batch, gh});
  std::optional<Tensor> scratch = Tensor::uninitialized(DType::F32, {dirs, batch, gh});
  if (!xw || !scratch)
    return ctx.error() << "cannot allocate the gate buffers";
  auto stateAt = [&](int64_t d, int64_t b) {
    return layout ? (b * dirs + d) * hidden : (d * batch + b) * hidden;
  };
  auto yAt = [&](int64_t t, int64_t d, int64_t b) {
    return layout ? ((b * seq + t) * dirs + d) * hidden : ((t * dirs + d) * batch + b) * hidden;
  };
  float *y = ctx.outputs[0].mutableData<float>();
  parallelFor(ctx.threads, dirs, 1, [&](int64_t d0, int64_t d1, int) {
    for (int64_t d = d0; d < d1; ++d) {
      bool reverse = direction == "reverse" || d == 1;
      const float *wd = w.data<float>() + d * gh * inSize, *rd = r.data<float>() + d * gh * hidden;
      const float *wb = ctx.has(3) ? ctx.in(3).data<float>() + d * 2 * gh : nullptr;
      const float *rb = wb ? wb + gh : nullptr;
      const float *peep = C == Cell::LSTM && ctx.has(7) ? ctx.in(7).data<float>() + d * 3 * hidden
                                                        : nullptr;
      const Activation *f = &(*acts)[d * (G == 1 ? 1 : G == 3 ? 2 : 3)];
      // All input projections at once: [seq * batch, I] x W^T.
      float *xwd = xw->mutableData<float>() + d * seq * batch * gh;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq * batch, gh, inSize, 1.0f,
                  x.data<float>(), inSize, wd, inSize, 0.0f, xwd, gh);
      // H(t-1) * R^T of the current step.
      float *rec = scratch->mutableData<float>() + d * batch * gh;
      // States (batch x hidden, packed in the first `hidden` of each row).
      std::vector<float> hs(batch * hidden, 0.0f), cs(batch * hidden, 0.0f);
      for (int64_t b = 0; b < batch; ++b) {
        if (ctx.has(5))
          memcpy(&hs[b * hidden], ctx.in(5).data<float>() + stateAt(d, b), hidden * 4);
        if (C == Cell::LSTM && ctx.has(6))
          memcpy(&cs[b * hidden], ctx.in(6).data<float>() + stateAt(d, b), hidden * 4);
      }
      auto clipped = [&](float v) { return hasClip ? std::max(-clip, std::min(clip, v)) : v; };
      std::vector<float> rh(batch * hidden);
      for (int64_t s = 0; s < seq; ++s) {
        // H(t-1) * R^T for every gate (GRU without linear_before_reset: z
        // and r only; the h gate needs r first).
        int64_t recGates = C == Cell::GRU && !linearBeforeReset ? 2 * hidden : gh;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, recGates, hidden, 1.0f,
                    hs.data(), hidden, rd, hidden, 0.0f, rec, gh);
        for (int64_t b = 0; b < batch; ++b) {
          if (s >= lens[b])
            continue;
          int64_t t = reverse ? lens[b] - 1 - s : s;
          const float *xg = xwd + (t * batch + b) * gh;
          float *rg = rec + b * gh;
          float *hb = &hs[b * hidden], *cb = &cs[b * hidden];
          auto bias = [&](int64_t gate, int64_t j) {
            return wb ? wb[gate * hidden + j] + rb[gate * hidden + j] : 0.0f;
          };
          if constexpr (C == Cell::RNN) {
            for (int64_t j = 0; j < hidden; ++j)
              hb[j] = f[0](clipped(xg[j] + rg[j] + bias(0, j)));
          } else if constexpr (C == Cell::GRU) {
            // Gates z, r, h.
            float *rgate = &rh[b * hidden];
            std::vector<float> z(hidden);
            for (int64_t j = 0; j < hidden; ++j) {
              z[j] = f[0](clipped(xg[j] + rg[j] + bias(0, j)));
              rgate[j] = f[0](clipped(xg[hidden + j] + rg[hidden + j] + bias(1, j)));
            }
            std::vector<float> hh(hidden);
            if (linearBeforeReset) {
              for (int64_t j = 0; j < hidden; ++j)
                hh[j] = f[1](clipped(xg[2 * hidden + j] + (wb ? wb[2 * hidden + j] : 0.0f) +
                                     rgate[j] * (rg[2 * hidden + j] +
                                                 (rb ? rb[2 * hidden + j] : 0.0f))));
            } else {
              std::vector<float> rhPrev(hidden);
              for (int64_t j = 0; j < hidden; ++j)
                rhPrev[j] = rgate[j] * hb[j];
              // (r . H) * Rh^T for this batch entry.
              cblas_sgemv(CblasRowMajor, CblasNoTrans, hidden, hidden, 1.0f,
                          rd + 2 * hidden * hidden, hidden, rhPrev.data(), 1, 0.0f, hh.data(), 1);
              for (int64_t j = 0; j < hidden; ++j)
                hh[j] = f[1](clipped(xg[2 * hidden + j] + hh[j] + bias(2, j)));
            }
            for (int64_t j = 0; j < hidden; ++j)
              hb[j] = (1.0f - z[j]) * hh[j] + z[j] * hb[j];
          } else {
            // Gates i, o, f, c.
            for (int64_t j = 0; j < hidden; ++j) {
              float cPrev = cb[j];
              float ig = f[0](clipped(xg[j] + rg[j] + bias(0, j) +
                                      (peep ? peep[j] * cPrev : 0.0f)));
              float fg = inputForget ? 1.0f - ig
                                     : f[0](clipped(xg[2 * hidden + j] + rg[2 * hidden + j] +
                                                    bias(2, j) +
                                                    (peep ? peep[2 * hidden + j] * cPrev : 0.0f)));
              float cg = f[1](clipped(xg[3 * hidden + j] + rg[3 * hidden + j] + bias(3, j)));
              float c = fg * cPrev + ig * cg;
              float og = f[0](clipped(xg[hidden + j] + rg[hidden + j] + bias(1, j) +
                                      (peep ? peep[hidden + j] * c : 0.0f)));
              cb[j] = c;
              hb[j] = og * f[2](c);
            }
          }
          memcpy(y + yAt(t, d, b), hb, hidden * sizeof(float));
        }
      }
      for (int64_t b = 0; b < batch; ++b) {
        if (numOutputs > 1)
          memcpy(ctx.outputs[1].mutableData<float>() + stateAt(d, b), &hs[b * hidden],
                 hidden * 4);
        if (C == Cell::LSTM && numOutputs > 2)
          memcpy(ctx.outputs[2].mutableData<float>() + stateAt(d, b), &cs[b * hidden],
                 hidden * 4);
      }
    }
  });
  return success();
}

} // namespace

void registerRecurrentKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "RNN", 7, any, recurrentKernel<Cell::RNN>).inputs(3).outputs(2);
  r.add("", "GRU", 7, any, recurrentKernel<Cell::GRU>).inputs(3).outputs(2);
  r.add("", "LSTM", 7, any, recurrentKernel<Cell::LSTM>).inputs(3).outputs(3);
}

} // namespace amct::rt
