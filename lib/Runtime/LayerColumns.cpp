//===- LayerColumns.cpp - a weighted layer as matrix products -------------===//

#include "amct/Runtime/LayerColumns.h"

#include "amct/Runtime/Executor.h"
#include "amct/Runtime/KernelRegistry.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cblas.h>

#include <algorithm>
#include <thread>

using namespace mlir;
using namespace amct;
using namespace amct::rt;

static int64_t intAttr(Operation *op, StringRef name, int64_t defaultValue) {
  auto attr = op->getAttrOfType<IntegerAttr>(name);
  return attr ? attr.getInt() : defaultValue;
}

FailureOr<LayerMatrices> amct::rt::describeLayerMatrices(Operation *layer, LayerKind kind,
                                                         ArrayRef<int64_t> w) {
  LayerMatrices m;
  m.kind = kind;
  auto bad = [&]() -> FailureOr<LayerMatrices> {
    return layer->emitError() << "a " << stringifyLayerKind(kind) << " layer with weight shape "
                              << formatShape(Shape(w.begin(), w.end()))
                              << " has no matrix form here (Conv2d, ConvTranspose2d and "
                                 "Linear have)";
  };
  if (llvm::any_of(w, [](int64_t d) { return d <= 0; }))
    return bad();
  if (kind == LayerKind::Conv2d && w.size() == 4) {
    int64_t group = intAttr(layer, "group", 1), taps = w[2] * w[3];
    if (group < 1 || w[0] % group)
      return bad();
    m.groups = group;
    m.rows = w[0] / group;
    m.k = w[1] * taps;
    // Conv's weight is already [M, C/g * kh * kw], row after row.
    for (int64_t i = 0; i < w[0] * m.k; ++i)
      m.weightIndex.push_back(i);
    for (int64_t r = 0; r < w[0]; ++r)
      m.rowChannel.push_back(r);
    return m;
  }
  if (kind == LayerKind::ConvTranspose2d && w.size() == 4) {
    int64_t group = intAttr(layer, "group", 1), taps = w[2] * w[3];
    if (group < 1 || w[0] % group)
      return bad();
    int64_t cPerGroup = w[0] / group;
    m.groups = group;
    m.rows = w[1];
    m.k = cPerGroup * taps;
    // W [C, M/g, kh, kw]: entry (g, row, ci * taps + t) is W[g * C/g + ci, row, t].
    for (int64_t g = 0; g < group; ++g)
      for (int64_t r = 0; r < m.rows; ++r) {
        for (int64_t ci = 0; ci < cPerGroup; ++ci)
          for (int64_t t = 0; t < taps; ++t)
            m.weightIndex.push_back(((g * cPerGroup + ci) * m.rows + r) * taps + t);
        m.rowChannel.push_back(r);
      }
    return m;
  }
  if (kind == LayerKind::Linear && w.size() == 2) {
    // Gemm's B is [N, K] with transB, else [K, N] as MatMul's weight.
    KernelKey key = getKernelKey(layer);
    bool transB = key.opType == "Gemm" && intAttr(layer, "transB", 0) != 0;
    if (key.opType == "Gemm" && intAttr(layer, "transA", 0) != 0)
      return bad();
    int64_t n = transB ? w[0] : w[1], kk = transB ? w[1] : w[0];
    m.rows = n;
    m.k = kk;
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t j = 0; j < kk; ++j)
        m.weightIndex.push_back(transB ? r * kk + j : j * n + r);
      m.rowChannel.push_back(r);
    }
    return m;
  }
  return bad();
}

/// tmp (k x k, upper triangle from ssyrk) added into the symmetric `out`.
static void addUpper(const std::vector<float> &tmp, int64_t k, double *out) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j) {
      out[i * k + j] += tmp[i * k + j];
      if (j != i)
        out[j * k + i] += tmp[i * k + j];
    }
}

static void addAll(const std::vector<float> &tmp, double *out) {
  for (size_t i = 0; i < tmp.size(); ++i)
    out[i] += tmp[i];
}

namespace {
/// Columns of one group: `k` rows of `p` positions (row stride `ld`), or
/// with `byPosition` `p` rows of `k` values (a Linear's input rows).
struct ColumnBlock {
  const float *data;
  int64_t p, ld;
  bool byPosition = false;
};

/// Adds block a's Gram (a a^T) into `aa`, and with `b` (laid out alike):
/// a b^T into `ab`, b b^T into `bb`.
void accumulateBlock(int64_t k, ColumnBlock a, const ColumnBlock *b, std::vector<float> &tmp,
                     double *aa, double *ab, double *bb) {
  CBLAS_TRANSPOSE first = a.byPosition ? CblasTrans : CblasNoTrans;
  CBLAS_TRANSPOSE second = a.byPosition ? CblasNoTrans : CblasTrans;
  cblas_ssyrk(CblasRowMajor, CblasUpper, first, k, a.p, 1.0f, a.data, a.ld, 0.0f, tmp.data(), k);
  addUpper(tmp, k, aa);
  if (!b)
    return;
  cblas_sgemm(CblasRowMajor, first, second, k, k, a.p, 1.0f, a.data, a.ld, b->data, b->ld, 0.0f,
              tmp.data(), k);
  addAll(tmp, ab);
  cblas_ssyrk(CblasRowMajor, CblasUpper, first, k, b->p, 1.0f, b->data, b->ld, 0.0f, tmp.data(),
              k);
  addUpper(tmp, k, bb);
}

/// A convolution's input columns for a slice of samples: the layer's own
/// kernel run on an identity weight, one output channel per (group, column
/// entry), so padding, strides, dilations, auto_pad and output_padding
/// mean what they mean when the layer runs.
class ConvColumns {
public:
  static FailureOr<ConvColumns> create(Operation *layer, const LayerMatrices &m,
                                       const Tensor &data, int threads) {
    ConvColumns c;
    c.layer = layer;
    c.threads = threads < 1 ? int(std::max(1u, std::thread::hardware_concurrency())) : threads;
    std::string why;
    c.entry = findKernel(layer, &why);
    if (!c.entry)
      return layer->emitError() << why;
    c.key = getKernelKey(layer);
    c.run.threads = c.threads;
    int64_t groups = m.groups, k = m.k;
    if (data.rank() != 4)
      return layer->emitError() << "the layer's input " << formatShape(data.shape())
                                << " is not 4-d";
    int64_t cPerGroup = data.dim(1) / groups;
    if (cPerGroup * groups != data.dim(1) || cPerGroup == 0 || k % cPerGroup)
      return layer->emitError() << "the layer's input has " << data.dim(1)
                                << " channels, which do not fit its weight";
    int64_t taps = k / cPerGroup;
    auto wType = cast<ShapedType>(layer->getOperand(1).getType());
    int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
    if (kh * kw != taps)
      return layer->emitError() << "the layer's kernel " << kh << "x" << kw << " does not fit "
                                << k << " weights per row";
    // Conv: W[g*k + j, ci, t] = 1; ConvTranspose: W[g*C/g + ci, j, t] = 1,
    // for j = ci * taps + t.
    Shape idShape = m.kind == LayerKind::Conv2d ? Shape{groups * k, cPerGroup, kh, kw}
                                                : Shape{groups * cPerGroup, k, kh, kw};
    std::optional<Tensor> identity = Tensor::zeros(DType::F32, idShape);
    if (!identity)
      return layer->emitError() << "cannot allocate the identity weight";
    float *id = identity->mutableData<float>();
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t j = 0; j < k; ++j) {
        int64_t ci = j / taps, t = j % taps;
        if (m.kind == LayerKind::Conv2d)
          id[(g * k + j) * k + j] = 1.0f;
        else
          id[((g * cPerGroup + ci) * k + j) * taps + t] = 1.0f;
      }
    c.identity = std::move(*identity);
    c.expected = groups * k;
    return c;
  }

  FailureOr<Tensor> columns(const Tensor &x) {
    KernelContext ctx{layer, {&x, &identity}, {}, threads};
    ctx.opType = key.opType;
    if (key.opset)
      ctx.opset = *key.opset;
    ctx.run = &run;
    if (failed(entry->kernel(ctx)) || ctx.attributeError)
      return failure();
    Tensor cols = std::move(ctx.outputs[0]);
    if (cols.rank() != 4 || cols.dim(1) != expected)
      return layer->emitError() << "the identity-weight run gave " << formatShape(cols.shape())
                                << ", not the columns";
    return cols;
  }

private:
  Operation *layer = nullptr;
  int threads = 1;
  const KernelEntry *entry = nullptr;
  KernelKey key;
  RunContext run;
  Tensor identity;
  int64_t expected = 0;
};
} // namespace

LogicalResult amct::rt::accumulateInputGram(Operation *layer, const LayerMatrices &m,
                                            const Tensor &data, const Tensor *fp, int threads,
                                            InputGrams &grams) {
  for (const Tensor *t : {&data, fp})
    if (t && t->dtype() != DType::F32)
      return layer->emitError() << "the layer's input is " << dtypeName(t->dtype())
                                << "; ADA takes float32 layers";
  if (fp && fp->shape() != data.shape())
    return layer->emitError() << "the layer's input is " << formatShape(data.shape())
                              << " in the quantized model but " << formatShape(fp->shape())
                              << " in the float one";
  int64_t k = m.k, kk = k * k;
  size_t size = m.groups * kk;
  grams.qq.resize(size, 0.0);
  if (fp) {
    grams.qf.resize(size, 0.0);
    grams.ff.resize(size, 0.0);
  }
  grams.sumQ.resize(m.groups * k, 0.0);
  if (fp)
    grams.sumF.resize(m.groups * k, 0.0);
  std::vector<float> tmp(kk);
  auto addSums = [k](ColumnBlock c, double *sums) {
    for (int64_t j = 0; j < k; ++j) {
      double s = 0;
      for (int64_t i = 0; i < c.p; ++i)
        s += c.byPosition ? c.data[i * k + j] : c.data[j * c.ld + i];
      sums[j] += s;
    }
  };
  auto accumulate = [&](int64_t g, ColumnBlock a, const ColumnBlock *b) {
    accumulateBlock(k, a, b, tmp, grams.qq.data() + g * kk,
                    fp ? grams.qf.data() + g * kk : nullptr,
                    fp ? grams.ff.data() + g * kk : nullptr);
    addSums(a, grams.sumQ.data() + g * k);
    if (b)
      addSums(*b, grams.sumF.data() + g * k);
  };

  if (m.kind == LayerKind::Linear) {
    if (data.rank() < 1 || data.dim(data.rank() - 1) != k)
      return layer->emitError() << "the layer's input " << formatShape(data.shape())
                                << " does not end in its " << k << " input channels";
    // Rows of K values, the columns by position.
    int64_t rows = data.numElements() / k;
    const float *x = data.data<float>(), *y = fp ? fp->data<float>() : nullptr;
    constexpr int64_t kChunk = 16384; // short float accumulations
    for (int64_t begin = 0; begin < rows; begin += kChunk) {
      int64_t count = std::min(kChunk, rows - begin);
      ColumnBlock a{x + begin * k, count, k, true};
      std::optional<ColumnBlock> b;
      if (y)
        b = ColumnBlock{y + begin * k, count, k, true};
      accumulate(0, a, b ? &*b : nullptr);
    }
    grams.positions += double(rows);
    return success();
  }

  FailureOr<ConvColumns> columns = ConvColumns::create(layer, m, data, threads);
  if (failed(columns))
    return failure();
  // Samples in slices, so each column tensor stays within ~64 MB.
  int64_t samples = data.dim(0), perSample = m.groups * k * data.dim(2) * data.dim(3);
  if (m.kind == LayerKind::ConvTranspose2d)
    perSample *= 4; // upsampling: the output is larger than the input
  int64_t slice = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(1, perSample));
  for (int64_t begin = 0; begin < samples; begin += slice) {
    int64_t end = std::min(samples, begin + slice);
    FailureOr<Tensor> q = columns->columns(data.rows(begin, end));
    if (failed(q))
      return failure();
    std::optional<Tensor> f;
    if (fp) {
      FailureOr<Tensor> fc = columns->columns(fp->rows(begin, end));
      if (failed(fc))
        return failure();
      f = std::move(*fc);
    }
    int64_t p = q->dim(2) * q->dim(3);
    for (int64_t s = 0; s < q->dim(0); ++s)
      for (int64_t g = 0; g < m.groups; ++g) {
        int64_t offset = (s * m.groups + g) * k * p;
        ColumnBlock a{q->data<float>() + offset, p, p};
        std::optional<ColumnBlock> b;
        if (f)
          b = ColumnBlock{f->data<float>() + offset, p, p};
        accumulate(g, a, b ? &*b : nullptr);
      }
    grams.positions += double(q->dim(0) * p);
  }
  return success();
}
