//===- MatMul.cpp - Gemm and MatMul -------------------------------------===//
//
// Gemm and MatMul as tiles of single-threaded BLAS calls; Det; Einsum.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

#include <map>

using namespace mlir;

namespace amct::rt {
namespace {

//===----------------------------------------------------------------------===//
// Matrix products and normalization
//===----------------------------------------------------------------------===//

/// Splits `batches` products of (m x k) by (k x n) into tiles, one sgemm
/// call each, and runs fn(batch, row0, rows, col0, cols) in parallel. Tile
/// sizes depend on the shapes only, so the calls (and their rounding) are
/// the same for any thread count.
template <typename Fn>
void forEachGemmTile(KernelContext &ctx, int64_t batches, int64_t m, int64_t n, int64_t k,
                     Fn &&fn) {
  // Below this many multiply-adds a product is one call: splitting would
  // cost more than it gains.
  constexpr int64_t kSplitWork = int64_t(1) << 22, kTile = 256;
  bool split = m * n * k >= kSplitWork;
  int64_t rowTiles = split ? (m + kTile - 1) / kTile : 1,
          colTiles = split ? (n + kTile - 1) / kTile : 1;
  int64_t rows = (m + rowTiles - 1) / std::max<int64_t>(1, rowTiles),
          cols = (n + colTiles - 1) / std::max<int64_t>(1, colTiles);
  int64_t tiles = rowTiles * colTiles;
  parallelFor(ctx.threads, batches * tiles, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t t = item % tiles, r0 = t / colTiles * rows, c0 = t % colTiles * cols;
      fn(item / tiles, r0, std::min(rows, m - r0), c0, std::min(cols, n - c0));
    }
  });
}

template <typename T>
LogicalResult gemmKernel(KernelContext &ctx) {
  OnnxAttrs attrs = ctx.attrs();
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  if (failed(requireReal<T>(ctx, a, "A")) || failed(requireReal<T>(ctx, b, "B")))
    return failure();
  if (a.rank() != 2 || b.rank() != 2)
    return ctx.error() << "A and B must be matrices, found " << formatShape(a.shape())
                       << " and " << formatShape(b.shape());
  bool ta = attrs.getInt("transA", 0) != 0, tb = attrs.getInt("transB", 0) != 0;
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  int64_t kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
  if (k != kb)
    return ctx.error() << "inner dimensions differ: " << k << " vs " << kb;
  if (failed(ctx.alloc(0, realDType<T>(), {m, n})))
    return failure();
  T *y = ctx.outputs[0].mutableData<T>();
  T beta = T(0);
  if (ctx.has(2)) {
    const Tensor &c = ctx.in(2);
    if (failed(requireReal<T>(ctx, c, "C")))
      return failure();
    Shape out{m, n};
    FailureOr<Shape> bs = broadcastShapes(ctx, c.shape(), out);
    if (failed(bs) || *bs != out)
      return ctx.error() << "C of shape " << formatShape(c.shape())
                         << " does not broadcast to " << formatShape(out);
    std::array<std::vector<int64_t>, 1> strides{broadcastStrides(c.shape(), out)};
    const T *pc = c.data<T>();
    forEachBroadcast<1>(out, strides, [&](int64_t o, auto &offs) { y[o] = pc[offs[0]]; });
    beta = attrs.getFloat("beta", 1.0f);
  }
  if (m == 0 || n == 0)
    return success();
  T alpha = attrs.getFloat("alpha", 1.0f);
  int64_t lda = a.dim(1), ldb = b.dim(1);
  forEachGemmTile(ctx, 1, m, n, k, [&](int64_t, int64_t r0, int64_t rows, int64_t c0,
                                       int64_t cols) {
    // Rows of op(A) are columns of A when transposed; likewise for B.
    const T *pa = a.data<T>() + (ta ? r0 : r0 * lda);
    const T *pb = b.data<T>() + (tb ? c0 * ldb : c0);
    blasGemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, rows, cols, k,
             alpha, pa, lda, pb, ldb, beta, y + r0 * n + c0, n);
  });
  return success();
}

template <typename T>
LogicalResult matMulKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  if (failed(requireReal<T>(ctx, a, "A")) || failed(requireReal<T>(ctx, b, "B")))
    return failure();
  if (a.rank() == 0 || b.rank() == 0)
    return ctx.error() << "operands must have rank >= 1";
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    return ctx.error() << "inner dimensions differ: " << formatShape(a.shape()) << " x "
                       << formatShape(b.shape());
  Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  FailureOr<Shape> batch = broadcastShapes(ctx, aBatch, bBatch);
  if (failed(batch))
    return failure();
  Shape out = *batch;
  if (a.rank() > 1)
    out.push_back(m);
  if (b.rank() > 1)
    out.push_back(n);
  if (failed(ctx.alloc(0, realDType<T>(), out)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(aBatch, *batch),
                                              broadcastStrides(bBatch, *batch)};
  T *y = ctx.outputs[0].mutableData<T>();
  if (m == 0 || n == 0)
    return success();
  // Operand offsets of each product of the batch.
  std::vector<std::array<int64_t, 2>> offsets;
  forEachBroadcast<2>(*batch, strides,
                      [&](int64_t, auto &offs) { offsets.push_back({offs[0], offs[1]}); });
  forEachGemmTile(ctx, offsets.size(), m, n, k, [&](int64_t o, int64_t r0, int64_t rows,
                                                    int64_t c0, int64_t cols) {
    blasGemm(CblasNoTrans, CblasNoTrans, rows, cols, k, T(1),
             a.data<T>() + offsets[o][0] * m * k + r0 * k, k,
             b.data<T>() + offsets[o][1] * k * n + c0, n, T(0), y + o * m * n + r0 * n + c0, n);
  });
  return success();
}


/// Ascend's WeightQuantBatchMatmulV2: the weight dequantized (int4 unpacked
/// first) exactly as amct.dequantize_weight does it, multiplied as MatMul
/// does, then the bias added: the fake-quant model's bits.
LogicalResult weightQuantBatchMatmulKernel(KernelContext &ctx) {
  auto op = cast<ascend::WeightQuantBatchMatmulV2Op>(ctx.op);
  const Tensor &packed = ctx.in(1);
  if (packed.dtype() != DType::I8 || packed.rank() != 2)
    return ctx.error() << "weight must be a 2-D int8 tensor, found " << formatShape(packed.shape());
  Tensor q = packed;
  if (op.getWeightDtype() == "INT4") {
    // Two values per byte along K, low nibble first.
    int64_t k = 2 * packed.dim(0), n = packed.dim(1);
    std::optional<Tensor> unpacked = Tensor::uninitialized(DType::I8, {k, n});
    if (!unpacked)
      return ctx.error() << "cannot allocate the unpacked int4 weight";
    const int8_t *src = packed.data<int8_t>();
    int8_t *dst = unpacked->mutableData<int8_t>();
    for (int64_t r = 0; r < packed.dim(0); ++r)
      for (int64_t c = 0; c < n; ++c) {
        uint8_t byte = uint8_t(src[r * n + c]);
        dst[2 * r * n + c] = int8_t(uint8_t(byte << 4)) >> 4;
        dst[(2 * r + 1) * n + c] = int8_t(byte) >> 4;
      }
    q = std::move(*unpacked);
  }
  FailureOr<Tensor> w = dequantizeWeight(ctx, q, ctx.in(2), ctx.has(3) ? &ctx.in(3) : nullptr,
                                         op.getAntiquantGroupSize(), 1.0f);
  if (failed(w))
    return failure();
  // A 16-bit x (converted to float32 for this kernel): the weight and the
  // product rounded to its type, as the fake-quant model's 16-bit
  // dequantized weight and MatMul result are.
  Type xElem = cast<ShapedType>(op.getX().getType()).getElementType();
  auto roundTo16 = [&](Tensor &t) {
    float *p = t.mutableData<float>();
    for (int64_t i = 0, e = t.numElements(); i < e; ++i)
      p[i] = xElem.isF16() ? halfToFloat(floatToHalf(p[i])) : bf16ToFloat(floatToBf16(p[i]));
  };
  if (!xElem.isF32())
    roundTo16(*w);
  FailureOr<std::vector<Tensor>> y = runWithInputs(ctx, matMulKernel<float>, {&ctx.in(0), &*w});
  if (failed(y))
    return failure();
  Tensor out = std::move((*y)[0]);
  if (!xElem.isF32() && ctx.has(4))
    roundTo16(out);
  if (ctx.has(4)) {
    const Tensor &bias = ctx.in(4);
    int64_t n = w->dim(1);
    if (failed(requireF32(ctx, bias, "bias")) || bias.numElements() != n)
      return ctx.error() << "bias must have " << n << " elements, found "
                         << formatShape(bias.shape());
    float *py = out.mutableData<float>();
    const float *pb = bias.data<float>();
    for (int64_t i = 0, e = out.numElements(); i < e; ++i)
      py[i] = py[i] + pb[i % n];
  }
  ctx.outputs = {std::move(out)};
  return success();
}

/// Det of each [M, M] matrix in the last two dims: LU with partial
/// pivoting in double.
LogicalResult detKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2))
    return ctx.error() << "Det takes square matrices in the last two dims, found "
                       << formatShape(x.shape());
  int64_t m = x.dim(x.rank() - 1), count = product(x.shape(), 0, x.rank() - 2);
  Shape out(x.shape().begin(), x.shape().end() - 2);
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  return dispatch(
      ctx, x.dtype(),
      [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        std::vector<double> a(m * m);
        for (int64_t k = 0; k < count; ++k) {
          for (int64_t i = 0; i < m * m; ++i)
            a[i] = x.data<T>()[k * m * m + i];
          double det = 1;
          for (int64_t c = 0; c < m && det != 0; ++c) {
            int64_t piv = c;
            for (int64_t r = c + 1; r < m; ++r)
              if (std::abs(a[r * m + c]) > std::abs(a[piv * m + c]))
                piv = r;
            if (a[piv * m + c] == 0) {
              det = 0;
              break;
            }
            if (piv != c) {
              for (int64_t j = 0; j < m; ++j)
                std::swap(a[c * m + j], a[piv * m + j]);
              det = -det;
            }
            det *= a[c * m + c];
            for (int64_t r = c + 1; r < m; ++r) {
              double f = a[r * m + c] / a[c * m + c];
              for (int64_t j = c; j < m; ++j)
                a[r * m + j] -= f * a[c * m + j];
            }
          }
          ctx.outputs[0].mutableData<T>()[k] = T(det);
        }
        return success();
      },
      /*allowInt=*/false);
}

/// Einsum: the explicit or implicit (output letters in alphabetical order
/// of those appearing once) form, with "..." broadcasting; every output
/// element sums the product over the contracted letters, in double. A
/// direct loop: right for the small contractions exporters emit, not a
/// replacement for MatMul.
LogicalResult einsumKernel(KernelContext &ctx) {
  std::string eq = ctx.attrs().getString("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t b = 0;;) {
    size_t e = lhs.find(',', b);
    terms.push_back(lhs.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos)
      break;
    b = e + 1;
  }
  if (terms.size() != ctx.inputs.size())
    return ctx.error() << "equation '" << eq << "' has " << terms.size() << " terms for "
                       << ctx.inputs.size() << " inputs";
  DType dtype = ctx.in(0).dtype();
  // Expand "..." into letters of their own ('A'... upward), right-aligned.
  int64_t ellRank = 0;
  for (size_t t = 0; t < terms.size(); ++t)
    if (size_t at = terms[t].find("..."); at != std::string::npos)
      ellRank = std::max<int64_t>(ellRank, ctx.in(t).rank() - ((int64_t)terms[t].size() - 3));
  auto expand = [&](std::string term, int64_t rank) -> std::string {
    size_t at = term.find("...");
    if (at == std::string::npos)
      return term;
    int64_t n = rank < 0 ? ellRank : rank - ((int64_t)term.size() - 3);
    std::string letters;
    for (int64_t i = ellRank - n; i < ellRank; ++i)
      letters += char('A' + i);
    return term.substr(0, at) + letters + term.substr(at + 3);
  };
  std::map<char, int64_t> size;
  std::map<char, int> count;
  for (size_t t = 0; t < terms.size(); ++t) {
    const Tensor &in = ctx.in(t);
    if (in.dtype() != dtype)
      return ctx.error() << "inputs must share one type";
    terms[t] = expand(terms[t], in.rank());
    if ((int64_t)terms[t].size() != in.rank())
      return ctx.error() << "term '" << terms[t] << "' does not match input rank " << in.rank();
    for (size_t i = 0; i < terms[t].size(); ++i) {
      char c = terms[t][i];
      int64_t d = in.dim(i);
      auto it = size.find(c);
      if (it != size.end() && it->second != d && it->second != 1 && d != 1)
        return ctx.error() << "letter '" << c << "' has sizes " << it->second << " and " << d;
      size[c] = it == size.end() ? d : std::max(it->second, d);
      count[c]++;
    }
  }
  std::string outTerm;
  if (arrow != std::string::npos) {
    outTerm = expand(eq.substr(arrow + 2), -1);
  } else {
    for (int64_t i = 0; i < ellRank; ++i)
      outTerm += char('A' + i);
    for (auto [c, n] : count)
      if (n == 1 && c >= 'a')
        outTerm += c;
  }
  std::string sumLetters;
  for (auto [c, n] : size)
    if (outTerm.find(c) == std::string::npos)
      sumLetters += c;
  Shape outShape;
  for (char c : outTerm) {
    if (!size.count(c))
      return ctx.error() << "output letter '" << c << "' is not in any input";
    outShape.push_back(size[c]);
  }
  if (failed(ctx.alloc(0, dtype, outShape)))
    return failure();
  std::string all = outTerm + sumLetters;
  std::map<char, int> pos;
  for (size_t i = 0; i < all.size(); ++i)
    pos[all[i]] = i;
  // Per input, the stride of each letter of `all` (0 when absent or
  // broadcast).
  std::vector<std::vector<int64_t>> strides(terms.size(), std::vector<int64_t>(all.size(), 0));
  for (size_t t = 0; t < terms.size(); ++t) {
    int64_t st = 1;
    for (int64_t i = (int64_t)terms[t].size() - 1; i >= 0; --i) {
      if (ctx.in(t).dim(i) != 1)
        strides[t][pos[terms[t][i]]] += st;
      st *= ctx.in(t).dim(i);
    }
  }
  int64_t outCount = product(outShape), sumCount = 1;
  for (char c : sumLetters)
    sumCount *= size[c];
  return dispatch(ctx, dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "Einsum does not take bool";
    } else {
      T *out = ctx.outputs[0].mutableData<T>();
      std::vector<int64_t> idx(all.size());
      for (int64_t o = 0; o < outCount; ++o) {
        int64_t rem = o;
        for (int64_t i = (int64_t)outTerm.size() - 1; i >= 0; --i) {
          idx[i] = rem % outShape[i];
          rem /= outShape[i];
        }
        double acc = 0;
        for (int64_t k = 0; k < sumCount; ++k) {
          int64_t r2 = k;
          for (int64_t i = (int64_t)sumLetters.size() - 1; i >= 0; --i) {
            int64_t n = size[sumLetters[i]];
            idx[outTerm.size() + i] = r2 % n;
            r2 /= n;
          }
          double prod = 1;
          for (size_t t = 0; t < terms.size(); ++t) {
            int64_t off = 0;
            for (size_t i = 0; i < all.size(); ++i)
              off += idx[i] * strides[t][i];
            prod *= double(ctx.in(t).data<T>()[off]);
          }
          acc += prod;
        }
        out[o] = T(acc);
      }
      return success();
    }
  });
}

/// MatMulInteger: (A - a_zero_point) x (B - b_zero_point) in int32; A's
/// zero point may be per row, B's per column.
LogicalResult matMulIntegerKernel(KernelContext &ctx) {
  FailureOr<Tensor> a = shiftedToDouble(ctx, ctx.in(0), ctx.has(2) ? &ctx.in(2) : nullptr, -2, "A");
  FailureOr<Tensor> b = shiftedToDouble(ctx, ctx.in(1), ctx.has(3) ? &ctx.in(3) : nullptr, -1, "B");
  if (failed(a) || failed(b))
    return failure();
  FailureOr<std::vector<Tensor>> y = runWithInputs(ctx, matMulKernel<double>, {&*a, &*b});
  if (failed(y) || failed(ctx.alloc(0, DType::I32, (*y)[0].shape())))
    return failure();
  for (int64_t i = 0; i < (*y)[0].numElements(); ++i)
    ctx.outputs[0].mutableData<int32_t>()[i] = int32_t((*y)[0].data<double>()[i]);
  return success();
}

/// The scale inputs of a QLinear op as floats (one, or one per channel).
FailureOr<std::vector<float>> scalesOf(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() != DType::F32 || t.numElements() < 1)
    return ctx.error() << what << " must be float32";
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numElements());
}

/// QLinearMatMul: the integer product requantized with
/// a_scale * b_scale / y_scale.
LogicalResult qlinearMatMulKernel(KernelContext &ctx) {
  FailureOr<Tensor> a = shiftedToDouble(ctx, ctx.in(0), &ctx.in(2), -2, "a");
  FailureOr<Tensor> b = shiftedToDouble(ctx, ctx.in(3), &ctx.in(5), -1, "b");
  FailureOr<std::vector<float>> as = scalesOf(ctx, ctx.in(1), "a_scale"),
                                bs = scalesOf(ctx, ctx.in(4), "b_scale"),
                                ys = scalesOf(ctx, ctx.in(6), "y_scale");
  if (failed(a) || failed(b) || failed(as) || failed(bs) || failed(ys))
    return failure();
  FailureOr<std::vector<Tensor>> y = runWithInputs(ctx, matMulKernel<double>, {&*a, &*b});
  if (failed(y))
    return failure();
  std::vector<float> mult;
  for (float bsc : *bs)
    mult.push_back((*as)[0] * bsc / (*ys)[0]);
  return requantize(ctx, (*y)[0], mult, (*y)[0].rank() - 1, ctx.in(7), 0);
}

} // namespace

void setKernelThreads(int) {
  // The kernels split their work themselves (Parallel.h) and call BLAS from
  // inside their work items.
  openblas_set_num_threads(1);
}

void registerMatMulKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "Gemm", 7, any, integerCapable(gemmKernel<float>, gemmKernel<double>)).inputs(2);
  r.add("", "MatMul", 1, any, integerCapable(matMulKernel<float>, matMulKernel<double>))
      .inputs(2);
  r.add("", "Det", 11, any, detKernel);
  r.add("", "MatMulInteger", 10, any, matMulIntegerKernel).inputs(2);
  r.add("", "QLinearMatMul", 10, any, qlinearMatMulKernel).inputs(8);
  r.add("", "Einsum", 12, any, einsumKernel);
  r.add("ascend", "WeightQuantBatchMatmulV2", 1, any, weightQuantBatchMatmulKernel).inputs(3);
}

} // namespace amct::rt
