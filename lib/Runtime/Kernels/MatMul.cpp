//===- MatMul.cpp - Gemm and MatMul -------------------------------------===//
//
// Gemm and MatMul as tiles of single-threaded BLAS calls.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

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
  auto op = cast<GemmOp>(ctx.op);
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  if (failed(requireReal<T>(ctx, a, "A")) || failed(requireReal<T>(ctx, b, "B")))
    return failure();
  if (a.rank() != 2 || b.rank() != 2)
    return ctx.error() << "A and B must be matrices, found " << formatShape(a.shape())
                       << " and " << formatShape(b.shape());
  bool ta = op.getTransA(), tb = op.getTransB();
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
    Shape out{m, n};
    FailureOr<Shape> bs = broadcastShapes(ctx, c.shape(), out);
    if (failed(bs) || *bs != out)
      return ctx.error() << "C of shape " << formatShape(c.shape())
                         << " does not broadcast to " << formatShape(out);
    std::array<std::vector<int64_t>, 1> strides{broadcastStrides(c.shape(), out)};
    const T *pc = c.data<T>();
    forEachBroadcast<1>(out, strides, [&](int64_t o, auto &offs) { y[o] = pc[offs[0]]; });
    beta = op.getBeta().convertToDouble();
  }
  if (m == 0 || n == 0)
    return success();
  T alpha = op.getAlpha().convertToDouble();
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


} // namespace

void setKernelThreads(int) {
  // The kernels split their work themselves (Parallel.h) and call BLAS from
  // inside their work items.
  openblas_set_num_threads(1);
}

void registerMatMulKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "Gemm", 7, any, integerCapable(gemmKernel<float>, gemmKernel<double>))
      .inputs(2)
      .typed();
  r.add("", "MatMul", 1, any, integerCapable(matMulKernel<float>, matMulKernel<double>))
      .inputs(2)
      .typed();
}

} // namespace amct::rt
