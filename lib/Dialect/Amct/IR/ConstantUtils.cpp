//===- ConstantUtils.cpp - reading and making amct constants --------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Quant/Quant.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>
#include <functional>
#include <numeric>

using namespace mlir;

namespace amct {

/// The value of an amct.const or ONNX Constant node producing `v`.
static ElementsAttr constantAttr(Value v) {
  Operation *def = v.getDefiningOp();
  if (auto c = dyn_cast_or_null<ConstOp>(def))
    return c.getValue();
  if (auto c = dyn_cast_or_null<ConstantOp>(def))
    return c.getValueAttr();
  return {};
}

std::optional<std::vector<float>> getConstantFloats(Value v) {
  ElementsAttr attr = constantAttr(v);
  if (!attr || !attr.getElementType().isF32())
    return std::nullopt;
  int64_t n = attr.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != (size_t)n * sizeof(float))
      return std::nullopt;
    std::vector<float> out(n);
    memcpy(out.data(), blob->getData().data(), n * sizeof(float));
    return out;
  }
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    std::vector<float> out;
    out.reserve(n);
    for (const APFloat &f : dense.getValues<APFloat>())
      out.push_back(f.convertToFloat());
    return out;
  }
  return std::nullopt;
}

std::optional<std::vector<int8_t>> getConstantInt8s(Value v) {
  auto c = dyn_cast_or_null<ConstOp>(v.getDefiningOp());
  if (!c || !c.getValue().getElementType().isInteger(8))
    return std::nullopt;
  ElementsAttr attr = c.getValue();
  int64_t n = attr.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != (size_t)n)
      return std::nullopt;
    const char *data = blob->getData().data();
    return std::vector<int8_t>(data, data + n);
  }
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    std::vector<int8_t> out;
    out.reserve(n);
    for (const APInt &i : dense.getValues<APInt>())
      out.push_back(static_cast<int8_t>(i.getSExtValue()));
    return out;
  }
  return std::nullopt;
}

std::optional<std::vector<char>> getConstantBytes(Value v) {
  ElementsAttr attr = constantAttr(v);
  if (!attr)
    return std::nullopt;
  Type element = attr.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  size_t width = element.getIntOrFloatBitWidth() / 8;
  size_t n = attr.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != n * width)
      return std::nullopt;
    return std::vector<char>(blob->getData().begin(), blob->getData().end());
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    if (raw.size() < width)
      return std::nullopt;
    std::vector<char> out(n * width);
    for (size_t i = 0; i < n; ++i)
      std::memcpy(out.data() + i * width, raw.data(), width);
    return out;
  }
  if (raw.size() != n * width)
    return std::nullopt;
  return std::vector<char>(raw.begin(), raw.end());
}

Value createConstant(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<char> bytes, StringRef name) {
  ElementsAttr attr;
  if (type.getNumElements() <= 8) {
    attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  } else {
    std::string key = name.empty() ? "tensor" : name.str();
    for (char &c : key)
      if (!llvm::isAlnum(c) && c != '_')
        c = '_';
    if (!llvm::isAlpha(key.front()) && key.front() != '_')
      key.insert(0, "t_");
    attr = DenseResourceElementsAttr::get(
        type, key, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(double)));
  }
  return b.create<ConstOp>(loc, attr);
}

Value createFloatConstant(OpBuilder &b, Location loc, RankedTensorType type,
                          ArrayRef<float> values, StringRef name) {
  return createConstant(
      b, loc, type,
      ArrayRef<char>(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float)),
      name);
}

std::optional<std::vector<int32_t>> quantizeConstantInput(FakeQuantOp fq, std::string &error) {
  std::optional<std::vector<float>> values = getConstantFloats(fq.getInput());
  auto type = dyn_cast<RankedTensorType>(fq.getInput().getType());
  if (!values || !type) {
    error = "the fake-quantized value is not a float32 constant";
    return std::nullopt;
  }
  ArrayRef<float> scale = fq.getScale();
  ArrayRef<int64_t> offset = fq.getOffset();
  std::optional<int64_t> axis = fq.getAxis();
  int64_t channels = axis ? type.getDimSize(*axis) : 1, inner = values->size();
  if (axis)
    inner = std::accumulate(type.getShape().begin() + *axis + 1, type.getShape().end(),
                            int64_t(1), std::multiplies<int64_t>());
  auto channelOf = [&](size_t i) { return axis ? (i / inner) % channels : 0; };
  int bits = fq.getNumBits();
  if (bits == 32) {
    if (llvm::any_of(offset, [](int64_t o) { return o != 0; })) {
      error = "a 32-bit fake_quant (an int32 bias) needs offset 0";
      return std::nullopt;
    }
    std::vector<float> scales(values->size());
    for (size_t i = 0; i < values->size(); ++i)
      scales[i] = scale[channelOf(i)];
    return quant::quantizeBias(values->data(), values->size(), scales.data(), scales.size(),
                               error);
  }
  std::vector<int32_t> q(values->size());
  for (size_t i = 0; i < values->size(); ++i) {
    int64_t c = channelOf(i);
    q[i] = quant::quantize((*values)[i], {scale[c], static_cast<int32_t>(offset[c])}, bits);
  }
  return q;
}

} // namespace amct
