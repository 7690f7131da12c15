//===- ConstantUtils.cpp - reading and making amct constants --------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace amct {

std::optional<std::vector<float>> getConstantFloats(Value v) {
  Operation *def = v.getDefiningOp();
  ElementsAttr attr;
  if (auto c = dyn_cast_or_null<ConstOp>(def))
    attr = c.getValue();
  else if (auto c = dyn_cast_or_null<ConstantOp>(def))
    attr = c.getValueAttr();
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

} // namespace amct
