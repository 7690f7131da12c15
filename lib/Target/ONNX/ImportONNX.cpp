//===- ImportONNX.cpp - ONNX model -> amct IR -----------------------------===//
//
// The importer walks a parsed ModelProto once: graph inputs become function
// arguments, initializers `amct.const`, nodes (sorted topologically) typed ops
// where the op and opset have one, `amct.node` otherwise. It trusts nothing:
// tensor sizes are checked against the bytes present before any allocation,
// names are checked for redefinition, and every error names the file and the
// node, tensor or attribute at fault.
//
// This file is compiled with exceptions enabled: ONNX's shape inference
// reports problems by throwing.
//
//===----------------------------------------------------------------------===//

#include "amct/Target/ONNX/ImportONNX.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Support/FileAccess.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cerrno>
#include <cstring>
#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir;
using namespace amct;

namespace {

/// Which typed op an ONNX op type maps to, and for which opsets.
struct TypedOpInfo {
  StringRef opName;
  int64_t since, until;
  unsigned numOperands; // declared operands, optional ones included
  bool variadic;
  unsigned maxResults;
};

template <typename OpT>
static std::pair<StringRef, TypedOpInfo> typed(unsigned numOperands,
                                               unsigned maxResults = 1,
                                               bool variadic = false) {
  StringRef name = OpT::getOperationName();
  return {name.drop_front(strlen("amct.")),
          TypedOpInfo{name, OpT::kOnnxSinceVersion, OpT::kOnnxUntilVersion,
                      numOperands, variadic, maxResults}};
}

static const llvm::StringMap<TypedOpInfo> &getTypedOps() {
  static const llvm::StringMap<TypedOpInfo> table = [] {
    llvm::StringMap<TypedOpInfo> t;
    for (auto [name, info] : {
             typed<ReluOp>(1), typed<SigmoidOp>(1), typed<TanhOp>(1),
             typed<SqrtOp>(1), typed<ErfOp>(1), typed<IdentityOp>(1),
             typed<NegOp>(1), typed<AbsOp>(1), typed<ExpOp>(1), typed<LogOp>(1),
             typed<ReciprocalOp>(1), typed<FloorOp>(1), typed<CeilOp>(1), typed<SinOp>(1),
             typed<CosOp>(1), typed<SoftplusOp>(1), typed<HardSwishOp>(1),
             typed<HardSigmoidOp>(1), typed<LeakyReluOp>(1), typed<EluOp>(1), typed<PReluOp>(2),
             typed<EqualOp>(2), typed<LessOp>(2), typed<GreaterOp>(2),
             typed<LessOrEqualOp>(2), typed<GreaterOrEqualOp>(2), typed<NotOp>(1),
             typed<WhereOp>(3), typed<ExpandOp>(2), typed<ConstantOfShapeOp>(1),
             typed<RangeOp>(3), typed<TriluOp>(2), typed<SplitOp>(2, 1u << 16),
             typed<ResizeOp>(4),
             typed<AddOp>(2), typed<SubOp>(2), typed<MulOp>(2),
             typed<DivOp>(2), typed<PowOp>(2), typed<ClipOp>(3),
             typed<ConvOp>(3), typed<ConvTransposeOp>(3), typed<GemmOp>(3),
             typed<MatMulOp>(2), typed<BatchNormalizationOp>(5),
             typed<MaxPoolOp>(1, 2), typed<AveragePoolOp>(1),
             typed<GlobalAveragePoolOp>(1), typed<ConcatOp>(0, 1, true),
             typed<ReshapeOp>(2), typed<FlattenOp>(1), typed<TransposeOp>(1),
             typed<SqueezeOp>(2), typed<UnsqueezeOp>(2), typed<GatherOp>(2),
             typed<SoftmaxOp>(1), typed<LayerNormalizationOp>(3),
             typed<ReduceMeanOp>(1), typed<PadOp>(4), typed<ConstantOp>(0),
             typed<ShapeOp>(1), typed<SliceOp>(5), typed<CastOp>(1),
             typed<QuantizeLinearOp>(3), typed<DequantizeLinearOp>(3)})
      t[name] = info;
    return t;
  }();
  return table;
}

/// Names defined in one graph; subgraphs see their parents' names.
struct Scope {
  llvm::StringMap<Value> values;
  Scope *parent = nullptr;
  Value lookup(StringRef name) const {
    for (const Scope *s = this; s; s = s->parent) {
      auto it = s->values.find(name);
      if (it != s->values.end())
        return it->second;
    }
    return {};
  }
};

/// Subgraph nesting the importer follows. Protobuf's default recursion
/// limit (100 messages, three per subgraph level) already stops a parse at
/// about 32 levels; this keeps the importer's own recursion bounded should
/// that limit change.
constexpr int kMaxSubgraphDepth = 32;

class Importer {
public:
  Importer(MLIRContext *ctx, StringRef fileName, const ImportOptions &options)
      : ctx(ctx), fileName(fileName), options(options), builder(ctx),
        fileLoc(FileLineColLoc::get(ctx, fileName, 0, 0)) {}

  FailureOr<OwningOpRef<ModuleOp>> importModel(onnx::ModelProto &model);

private:
  InFlightDiagnostic error() { return emitError(fileLoc) << fileName << ": "; }
  InFlightDiagnostic nodeError(const onnx::NodeProto &node) {
    // Names are optional in ONNX: an unnamed node is named by its output.
    if (node.name().empty() && node.output_size())
      return error() << "unnamed node (" << node.op_type() << ") producing '"
                     << node.output(0) << "': ";
    return error() << "node '" << node.name() << "' (" << node.op_type() << "): ";
  }

  LogicalResult importGraph(onnx::GraphProto &graph, Block *block, Scope &scope,
                            bool isMain);
  LogicalResult collectValueTypes(onnx::GraphProto &graph);
  LogicalResult verifyNodeSchemas(const onnx::GraphProto &graph, int depth);
  LogicalResult sortNodes(const onnx::GraphProto &graph,
                          const llvm::StringSet<> &outerNames,
                          SmallVectorImpl<int> &order);
  LogicalResult importNode(onnx::NodeProto &node, Scope &scope);
  LogicalResult importAscendNode(onnx::NodeProto &node, Scope &scope, Location loc,
                                 ArrayRef<Value> operands, ArrayRef<Type> resultTypes);
  FailureOr<Operation *> createTypedOp(onnx::NodeProto &node,
                                       const TypedOpInfo &info, Location loc,
                                       SmallVector<Value> operands,
                                       ArrayRef<Type> resultTypes);
  FailureOr<Type> importType(const onnx::TypeProto &type, StringRef what);
  FailureOr<ElementsAttr> importTensor(onnx::TensorProto &tensor, StringRef what);
  FailureOr<std::string> readExternalData(const onnx::TensorProto &tensor,
                                          StringRef what, int64_t expectedBytes);
  FailureOr<Attribute> importAttribute(onnx::AttributeProto &attr,
                                       const onnx::NodeProto &node);
  Value getNone();

  MLIRContext *ctx;
  std::string fileName;
  ImportOptions options;
  OpBuilder builder;
  Location fileLoc;
  int64_t defaultOpset = 1;
  /// Opset version per imported domain ("" for the default one).
  llvm::StringMap<int64_t> opsetVersions;
  /// False when a node does not match the schema ONNX's inference would use.
  bool onnxInferenceSafe = true;
  Value noneValue;
  Block *mainBlock = nullptr;
  /// Declared types of named values (graph inputs/outputs, value_info).
  llvm::StringMap<const onnx::TypeProto *> valueTypes;
};

} // namespace

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

FailureOr<Type> Importer::importType(const onnx::TypeProto &type, StringRef what) {
  switch (type.value_case()) {
  case onnx::TypeProto::kTensorType: {
    const auto &t = type.tensor_type();
    if (t.elem_type() == onnx::TensorProto::UNDEFINED)
      return Type(UnknownType::get(ctx));
    Type elem = getElementTypeForOnnxDataType(ctx, t.elem_type());
    if (!elem)
      return error() << what << " has unsupported data type " << t.elem_type();
    if (!t.has_shape())
      return Type(UnrankedTensorType::get(elem));
    SmallVector<int64_t> dims;
    for (const auto &d : t.shape().dim()) {
      if (d.has_dim_value() && d.dim_value() < 0)
        return error() << what << " has negative dimension " << d.dim_value();
      dims.push_back(d.has_dim_value() ? d.dim_value() : ShapedType::kDynamic);
    }
    return Type(RankedTensorType::get(dims, elem));
  }
  case onnx::TypeProto::kSequenceType: {
    FailureOr<Type> elem = importType(type.sequence_type().elem_type(), what);
    if (failed(elem))
      return failure();
    return Type(SeqType::get(ctx, *elem));
  }
  case onnx::TypeProto::kOptionalType: {
    FailureOr<Type> elem = importType(type.optional_type().elem_type(), what);
    if (failed(elem))
      return failure();
    return Type(OptType::get(ctx, *elem));
  }
  default:
    // Maps and sparse tensors: no pass looks inside them.
    return Type(UnknownType::get(ctx));
  }
}

/// Converts little-endian typed-field data of a TensorProto to raw bytes.
template <typename Src, typename Dst>
static void appendAs(std::string &out, const Src &values) {
  size_t start = out.size();
  out.resize(start + values.size() * sizeof(Dst));
  char *p = out.data() + start;
  for (auto v : values) {
    Dst d = static_cast<Dst>(v);
    memcpy(p, &d, sizeof(Dst));
    p += sizeof(Dst);
  }
}

FailureOr<std::string> Importer::readExternalData(const onnx::TensorProto &tensor,
                                                  StringRef what,
                                                  int64_t expectedBytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : tensor.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return error() << what << ": external data " << kv.key() << " '"
                       << kv.value() << "' is not a non-negative integer";
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return error() << what << ": external data has no location";
  // The model names the file, so the model must not be able to name one
  // outside its folder, through a link, or one that is not a regular file
  // (FileAccess.h states the rule).
  ReadableFile file;
  std::string reason;
  if (!openFileInFolder(llvm::sys::path::parent_path(fileName).str(), location,
                        file, reason))
    return error() << what << ": external data " << reason;
  if ((uint64_t)offset > file.size() ||
      (uint64_t)expectedBytes > file.size() - (uint64_t)offset)
    return error() << what << ": external data file '" << location << "' has "
                   << file.size() << " bytes, needs " << expectedBytes
                   << " at offset " << offset;
  if (length >= 0 && length != expectedBytes)
    return error() << what << ": external data length " << length
                   << " does not match the " << expectedBytes
                   << " bytes its dims and type need";
  std::string bytes;
  if (!file.readAt(offset, expectedBytes, bytes, reason))
    return error() << what << ": external data " << reason;
  return bytes;
}

FailureOr<ElementsAttr> Importer::importTensor(onnx::TensorProto &tensor,
                                               StringRef what) {
  int32_t dataType = tensor.data_type();
  Type elem = getElementTypeForOnnxDataType(ctx, dataType);
  if (!elem)
    return error() << what << " has unsupported data type " << dataType;
  if (isa<IntegerType>(elem) && elem.getIntOrFloatBitWidth() == 4)
    return error() << what << ": 4-bit tensors are not supported yet";
  SmallVector<int64_t> dims;
  int64_t numElements = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      return error() << what << " has negative dimension " << d;
    if (__builtin_mul_overflow(numElements, d, &numElements) ||
        numElements > (int64_t(1) << 40))
      return error() << what << ": dims claim more than 2^40 elements";
    dims.push_back(d);
  }
  auto type = RankedTensorType::get(dims, elem);

  if (dataType == onnx::TensorProto::STRING) {
    if (tensor.string_data_size() != numElements)
      return error() << what << ": dims claim " << numElements
                     << " strings but string_data has " << tensor.string_data_size();
    SmallVector<StringRef> strings(tensor.string_data().begin(),
                                   tensor.string_data().end());
    return cast<ElementsAttr>(DenseStringElementsAttr::get(type, strings));
  }

  int64_t elemSize = getOnnxRawElementSize(dataType);
  int64_t expectedBytes = numElements * elemSize;
  // Raw bytes of the tensor: taken from the proto without a copy when the
  // data is raw_data, so large weights are held once.
  std::unique_ptr<std::string> raw;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<std::string> data = readExternalData(tensor, what, expectedBytes);
    if (failed(data))
      return failure();
    raw = std::make_unique<std::string>(std::move(*data));
  } else if (tensor.has_raw_data()) {
    if ((int64_t)tensor.raw_data().size() != expectedBytes)
      return error() << what << ": dims " << "[" << llvm::join(llvm::map_range(dims, [](int64_t d) { return std::to_string(d); }), ", ")
                     << "] claim " << numElements << " elements (" << expectedBytes
                     << " bytes) but raw_data has " << tensor.raw_data().size()
                     << " bytes";
    raw.reset(tensor.release_raw_data());
  } else {
    raw = std::make_unique<std::string>();
    int64_t have;
    auto checkCount = [&](int64_t count, int64_t perElement) -> LogicalResult {
      if (count == numElements * perElement)
        return success();
      return error() << what << ": dims claim " << numElements
                     << " elements but the typed data field has " << count
                     << " values";
    };
    switch (dataType) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::COMPLEX64:
      have = tensor.float_data_size();
      if (failed(checkCount(have, dataType == onnx::TensorProto::FLOAT ? 1 : 2)))
        return failure();
      appendAs<decltype(tensor.float_data()), float>(*raw, tensor.float_data());
      break;
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX128:
      have = tensor.double_data_size();
      if (failed(checkCount(have, dataType == onnx::TensorProto::DOUBLE ? 1 : 2)))
        return failure();
      appendAs<decltype(tensor.double_data()), double>(*raw, tensor.double_data());
      break;
    case onnx::TensorProto::INT64:
      if (failed(checkCount(tensor.int64_data_size(), 1)))
        return failure();
      appendAs<decltype(tensor.int64_data()), int64_t>(*raw, tensor.int64_data());
      break;
    case onnx::TensorProto::UINT32:
      if (failed(checkCount(tensor.uint64_data_size(), 1)))
        return failure();
      appendAs<decltype(tensor.uint64_data()), uint32_t>(*raw, tensor.uint64_data());
      break;
    case onnx::TensorProto::UINT64:
      if (failed(checkCount(tensor.uint64_data_size(), 1)))
        return failure();
      appendAs<decltype(tensor.uint64_data()), uint64_t>(*raw, tensor.uint64_data());
      break;
    default:
      // Every other fixed-size type is stored in int32_data, one per element.
      if (failed(checkCount(tensor.int32_data_size(), 1)))
        return failure();
      if (elemSize == 1)
        appendAs<decltype(tensor.int32_data()), uint8_t>(*raw, tensor.int32_data());
      else if (elemSize == 2)
        appendAs<decltype(tensor.int32_data()), uint16_t>(*raw, tensor.int32_data());
      else
        appendAs<decltype(tensor.int32_data()), int32_t>(*raw, tensor.int32_data());
      break;
    }
  }

  ArrayRef<char> bytes(raw->data(), raw->size());
  if (elem.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, values));
  }
  if (numElements <= options.maxInlineElements) {
    if (numElements == 0)
      return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<Attribute>{}));
    bool isSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, bytes, isSplat))
      return error() << what << ": tensor data does not match its type " << type;
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, bytes));
  }
  // Blob keys must be printable as bare identifiers.
  std::string key = tensor.name().empty() ? "tensor" : tensor.name();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  if (!llvm::isAlpha(key.front()) && key.front() != '_')
    key.insert(0, "t_");
  size_t align = std::min<size_t>(alignof(std::max_align_t), elemSize);
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(raw->data()) % align == 0) {
    std::string *owned = raw.release();
    blob = AsmResourceBlob(
        ArrayRef<char>(owned->data(), owned->size()), align,
        [owned](void *, size_t, size_t) { delete owned; }, /*dataIsMutable=*/true);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, align);
  }
  return cast<ElementsAttr>(DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

FailureOr<Attribute> Importer::importAttribute(onnx::AttributeProto &attr,
                                               const onnx::NodeProto &node) {
  auto type = attr.type();
  // IR version 1 models may leave the type unset: derive it from the field.
  if (type == onnx::AttributeProto::UNDEFINED) {
    if (attr.has_f()) type = onnx::AttributeProto::FLOAT;
    else if (attr.has_i()) type = onnx::AttributeProto::INT;
    else if (attr.has_s()) type = onnx::AttributeProto::STRING;
    else if (attr.has_t()) type = onnx::AttributeProto::TENSOR;
    else if (attr.has_g()) type = onnx::AttributeProto::GRAPH;
    else if (attr.floats_size()) type = onnx::AttributeProto::FLOATS;
    else if (attr.ints_size()) type = onnx::AttributeProto::INTS;
    else if (attr.strings_size()) type = onnx::AttributeProto::STRINGS;
  }
  Builder b(ctx);
  if (!attr.ref_attr_name().empty())
    return Attribute(RawOnnxAttr::get(ctx, attr.SerializeAsString()));
  switch (type) {
  case onnx::AttributeProto::FLOAT:
    return Attribute(b.getF32FloatAttr(attr.f()));
  case onnx::AttributeProto::INT:
    return Attribute(b.getI64IntegerAttr(attr.i()));
  case onnx::AttributeProto::STRING:
    return Attribute(b.getStringAttr(attr.s()));
  case onnx::AttributeProto::TENSOR: {
    FailureOr<ElementsAttr> t = importTensor(
        *attr.mutable_t(), "attribute '" + attr.name() + "' of node '" + node.name() + "'");
    if (failed(t))
      return failure();
    return Attribute(*t);
  }
  case onnx::AttributeProto::FLOATS:
    return Attribute(b.getDenseF32ArrayAttr(
        SmallVector<float>(attr.floats().begin(), attr.floats().end())));
  case onnx::AttributeProto::INTS:
    return Attribute(b.getDenseI64ArrayAttr(
        SmallVector<int64_t>(attr.ints().begin(), attr.ints().end())));
  case onnx::AttributeProto::STRINGS:
    if (attr.strings_size()) {
      SmallVector<Attribute> strings;
      for (const std::string &s : attr.strings())
        strings.push_back(b.getStringAttr(s));
      return Attribute(b.getArrayAttr(strings));
    }
    break;
  case onnx::AttributeProto::TENSORS:
    if (attr.tensors_size()) {
      SmallVector<Attribute> tensors;
      for (auto &t : *attr.mutable_tensors()) {
        FailureOr<ElementsAttr> e = importTensor(
            t, "attribute '" + attr.name() + "' of node '" + node.name() + "'");
        if (failed(e))
          return failure();
        tensors.push_back(*e);
      }
      return Attribute(b.getArrayAttr(tensors));
    }
    break;
  case onnx::AttributeProto::UNDEFINED:
    return nodeError(node) << "attribute '" << attr.name() << "' has no value";
  default:
    break;
  }
  // Kinds no pass reads, and empty lists whose kind the IR could not tell.
  return Attribute(RawOnnxAttr::get(ctx, attr.SerializeAsString()));
}

//===----------------------------------------------------------------------===//
// Graphs and nodes
//===----------------------------------------------------------------------===//

Value Importer::getNone() {
  if (!noneValue) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(mainBlock);
    noneValue = builder.create<NoneOp>(builder.getUnknownLoc());
  }
  return noneValue;
}

/// Names a subgraph reads, at any depth: the implicit inputs of its node.
static void collectUsedNames(const onnx::GraphProto &graph, llvm::StringSet<> &names) {
  for (const auto &node : graph.node()) {
    for (const std::string &in : node.input())
      names.insert(in);
    for (const auto &attr : node.attribute()) {
      if (attr.has_g())
        collectUsedNames(attr.g(), names);
      for (const auto &g : attr.graphs())
        collectUsedNames(g, names);
    }
  }
}

LogicalResult Importer::sortNodes(const onnx::GraphProto &graph,
                                  const llvm::StringSet<> &definedNames,
                                  SmallVectorImpl<int> &order) {
  int n = graph.node_size();
  llvm::StringMap<int> producer;
  for (int i = 0; i < n; ++i) {
    const auto &node = graph.node(i);
    for (const std::string &out : node.output()) {
      if (out.empty())
        continue;
      if (definedNames.contains(out))
        return nodeError(node) << "output '" << out
                               << "' redefines a graph input or initializer";
      auto [it, inserted] = producer.try_emplace(out, i);
      if (!inserted)
        return nodeError(node) << "output '" << out
                               << "' is also produced by node '"
                               << graph.node(it->second).name() << "' ("
                               << graph.node(it->second).op_type() << ")";
    }
  }
  // Dependencies inside this graph, subgraph reads included.
  std::vector<SmallVector<int>> deps(n);
  for (int i = 0; i < n; ++i) {
    llvm::StringSet<> used;
    const auto &node = graph.node(i);
    for (const std::string &in : node.input())
      used.insert(in);
    for (const auto &attr : node.attribute()) {
      if (attr.has_g())
        collectUsedNames(attr.g(), used);
      for (const auto &g : attr.graphs())
        collectUsedNames(g, used);
    }
    for (const auto &name : used) {
      auto it = producer.find(name.getKey());
      if (it != producer.end())
        deps[i].push_back(it->second);
    }
  }
  // Iterative depth-first post-order: stable, so a sorted graph keeps its
  // order, and a back edge is a cycle.
  enum State : uint8_t { kNew, kActive, kDone };
  std::vector<State> state(n, kNew);
  for (int root = 0; root < n; ++root) {
    if (state[root] != kNew)
      continue;
    SmallVector<std::pair<int, size_t>> stack{{root, 0}};
    state[root] = kActive;
    while (!stack.empty()) {
      auto &[node, next] = stack.back();
      if (next < deps[node].size()) {
        int dep = deps[node][next++];
        if (state[dep] == kActive)
          return nodeError(graph.node(dep))
                 << "is part of a cycle (it depends, through its inputs, on "
                    "node '"
                 << graph.node(node).name() << "' (" << graph.node(node).op_type()
                 << "), which depends on it)";
        if (state[dep] == kNew) {
          state[dep] = kActive;
          stack.push_back({dep, 0});
        }
        continue;
      }
      state[node] = kDone;
      order.push_back(node);
      stack.pop_back();
    }
  }
  return success();
}

LogicalResult Importer::collectValueTypes(onnx::GraphProto &graph) {
  for (const auto &vi : graph.value_info())
    valueTypes[vi.name()] = &vi.type();
  for (const auto &vi : graph.input())
    valueTypes[vi.name()] = &vi.type();
  for (const auto &vi : graph.output())
    if (vi.has_type())
      valueTypes[vi.name()] = &vi.type();
  return success();
}

LogicalResult Importer::importGraph(onnx::GraphProto &graph, Block *block,
                                    Scope &scope, bool isMain) {
  if (failed(collectValueTypes(graph)))
    return failure();
  builder.setInsertionPointToEnd(block);
  llvm::StringSet<> defined;

  // Subgraph inputs are the block's arguments (main's are set up by the caller).
  if (!isMain) {
    for (const auto &in : graph.input()) {
      FailureOr<Type> type = in.has_type() ? importType(in.type(), "subgraph input '" + in.name() + "'")
                                           : FailureOr<Type>(UnknownType::get(ctx));
      if (failed(type))
        return failure();
      Value arg = block->addArgument(*type, NameLoc::get(builder.getStringAttr(in.name())));
      scope.values[in.name()] = arg;
      defined.insert(in.name());
    }
  } else {
    for (auto &entry : scope.values)
      defined.insert(entry.getKey());
  }

  for (auto &init : *graph.mutable_initializer()) {
    if (init.name().empty())
      return error() << "an initializer has no name";
    if (scope.values.count(init.name()))
      return error() << "initializer '" << init.name()
                     << "' is defined twice (or also a graph input)";
    FailureOr<ElementsAttr> value = importTensor(init, "initializer '" + init.name() + "'");
    if (failed(value))
      return failure();
    scope.values[init.name()] =
        builder.create<ConstOp>(NameLoc::get(builder.getStringAttr(init.name())), *value);
    defined.insert(init.name());
  }

  SmallVector<int> order;
  if (failed(sortNodes(graph, defined, order)))
    return failure();
  for (int i : order)
    if (failed(importNode(*graph.mutable_node(i), scope)))
      return failure();

  SmallVector<Value> results;
  SmallVector<std::string> names;
  for (const auto &out : graph.output()) {
    Value v = scope.lookup(out.name());
    if (!v)
      return error() << "graph output '" << out.name()
                     << "' is not produced by any node, input or initializer";
    results.push_back(v);
    names.push_back(out.name());
  }
  builder.setInsertionPointToEnd(block);
  if (isMain)
    builder.create<func::ReturnOp>(fileLoc, results);
  else
    builder.create<YieldOp>(makeNodeLoc(ctx, "", names, fileLoc), results);
  return success();
}

/// Whether `a` knows more dims than `b` (both compatible).
static bool isMoreStatic(ShapedType a, ShapedType b) {
  if (!a.hasRank())
    return false;
  if (!b.hasRank())
    return true;
  return llvm::count_if(a.getShape(), ShapedType::isDynamic) <
         llvm::count_if(b.getShape(), ShapedType::isDynamic);
}

FailureOr<Operation *> Importer::createTypedOp(onnx::NodeProto &node,
                                               const TypedOpInfo &info,
                                               Location loc,
                                               SmallVector<Value> operands,
                                               ArrayRef<Type> resultTypes) {
  OperationState state(loc, info.opName);
  if (!info.variadic)
    while (operands.size() < info.numOperands)
      operands.push_back(getNone());
  state.addOperands(operands);
  for (auto &attr : *node.mutable_attribute()) {
    FailureOr<Attribute> value = importAttribute(attr, node);
    if (failed(value))
      return failure();
    state.addAttribute(attr.name(), *value);
  }
  // Attribute kinds are checked before the op exists: inference reads them.
  if (failed(state.name.verifyInherentAttrs(state.attributes, [&] {
        return nodeError(node);
      })))
    return failure();
  // Placeholder types are refined by the op's own shape inference below.
  SmallVector<Type> types;
  SmallVector<bool> known;
  for (Type t : resultTypes) {
    bool isKnown = t && isa<TensorType>(t);
    known.push_back(isKnown);
    types.push_back(isKnown ? t : UnrankedTensorType::get(builder.getF32Type()));
  }
  state.addTypes(types);
  Operation *op = builder.create(state);
  // A layer on int8 data in a deploy model: AMCT writes the data's zero
  // point on the AscendQuant feeding it, not on the layer (offset_x).
  if (auto layer = dyn_cast<QuantizableLayerOpInterface>(op))
    if (!op->hasAttr("offset_x") && layer.supportsOffsetX())
      if (auto quant = op->getOperand(layer.getDataOperandIndex()).getDefiningOp<ascend::QuantOp>())
        if (float offset = quant.getOffset().convertToFloat(); offset != 0.0f)
          layer.setDataOffsetX((int64_t)offset);
  // The op's own inference refines what the model declared: a declared type
  // may know less (unranked, dynamic dims) than the op can compute. A
  // conflict is left for the verifier to report.
  SmallVector<Type> inferred;
  SmallVector<std::string> messages;
  LogicalResult inferredOk = success();
  {
    // Its errors are re-emitted with the file and node in front.
    ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &diag) {
      messages.push_back(diag.str());
      return success();
    });
    inferredOk = cast<ShapeInferenceOpInterface>(op).inferResultTypes(inferred);
  }
  if (failed(inferredOk)) {
    for (const std::string &message : messages)
      nodeError(node) << message;
    return failure();
  }
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    if (i >= inferred.size())
      break;
    if (!known[i]) {
      result.setType(inferred[i]);
      continue;
    }
    Type declared = result.getType();
    if (getElementTypeOrSelf(declared) == getElementTypeOrSelf(inferred[i]) &&
        succeeded(verifyCompatibleShape(declared, inferred[i])) &&
        isMoreStatic(cast<ShapedType>(inferred[i]), cast<ShapedType>(declared)))
      result.setType(inferred[i]);
  }
  return op;
}

/// The result type of a Reduce* node taking its axes as an input (opset 18,
/// ReduceSum from 13), which Debian's libonnx (1.12, opsets up to 17)
/// cannot infer: the data's shape reduced over the constant axes
/// (`keepdims`, `noop_with_empty_axes`), its element type. Null when the
/// data is unranked or the axes are not constant: then the type stays
/// unknown. Without it an opset-18 RMSNorm would leave every later op
/// untyped, and its Linear layers unfound.
static Type inferReduceWithAxesInput(const onnx::NodeProto &node, ArrayRef<Value> operands) {
  static const char *const kReduce[] = {"ReduceL1",        "ReduceL2",   "ReduceLogSum",
                                        "ReduceLogSumExp", "ReduceMax",  "ReduceMean",
                                        "ReduceMin",       "ReduceProd", "ReduceSum",
                                        "ReduceSumSquare"};
  if (llvm::none_of(kReduce, [&](const char *t) { return node.op_type() == t; }) ||
      operands.empty() || operands.size() > 2)
    return Type();
  auto x = dyn_cast<RankedTensorType>(operands[0].getType());
  if (!x)
    return Type();
  int64_t keepdims = 1, noop = 0;
  for (const onnx::AttributeProto &a : node.attribute()) {
    if (a.name() == "keepdims")
      keepdims = a.i();
    else if (a.name() == "noop_with_empty_axes")
      noop = a.i();
    else if (a.name() == "axes")
      return Type(); // the attribute form: libonnx infers it
  }
  SmallVector<int64_t> axes;
  bool hasAxes = operands.size() == 2 && !isa<NoneType>(operands[1].getType());
  if (hasAxes) {
    std::optional<SmallVector<int64_t>> values = getConstantIntegers(operands[1]);
    if (!values)
      return Type();
    axes = *values;
  }
  int64_t rank = x.getRank();
  if (axes.empty() && noop)
    return x;
  SmallVector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      return Type(); // the node is wrong; the executor reports it
    reduced[a < 0 ? a + rank : a] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i)
    if (!reduced[i])
      shape.push_back(x.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  return RankedTensorType::get(shape, x.getElementType());
}

/// An Ascend deploy op: ONNX has no bool attributes, so sqrt_mode and
/// relu_flag come as INT and become the ops' BoolAttr.
LogicalResult Importer::importAscendNode(onnx::NodeProto &node, Scope &scope, Location loc,
                                         ArrayRef<Value> operands,
                                         ArrayRef<Type> resultTypes) {
  OperationState state(loc, "ascend." + node.op_type());
  state.addOperands(operands);
  // Trailing optional inputs a writer leaves out are absent operands.
  size_t arity = node.op_type() == "WeightQuantBatchMatmulV2" ? 5
                 : node.op_type() == "QuantBatchMatmulV3"      ? 6
                                                               : 0;
  for (size_t i = operands.size(); i < arity; ++i)
    state.addOperands(getNone());
  for (auto &attr : *node.mutable_attribute()) {
    FailureOr<Attribute> value = importAttribute(attr, node);
    if (failed(value))
      return failure();
    if ((attr.name() == "sqrt_mode" || attr.name() == "relu_flag") && isa<IntegerAttr>(*value))
      value = Attribute(builder.getBoolAttr(cast<IntegerAttr>(*value).getInt() != 0));
    state.addAttribute(attr.name(), *value);
  }
  if (failed(state.name.verifyInherentAttrs(state.attributes, [&] { return nodeError(node); })))
    return failure();
  for (Type t : resultTypes)
    if (!t || !isa<TensorType>(t))
      return nodeError(node) << "the output type is not known (the exporter writes it as value_info)";
  state.addTypes(resultTypes);
  Operation *op = builder.create(state);
  for (auto [name, result] : llvm::zip(node.output(), op->getResults()))
    scope.values[name] = result;
  return success();
}

LogicalResult Importer::importNode(onnx::NodeProto &node, Scope &scope) {
  SmallVector<std::string> outputNames(node.output().begin(), node.output().end());
  Location loc = makeNodeLoc(ctx, node.name(), outputNames, fileLoc);

  SmallVector<Value> operands;
  for (const std::string &in : node.input()) {
    if (in.empty()) {
      operands.push_back(getNone());
      continue;
    }
    Value v = scope.lookup(in);
    if (!v)
      return nodeError(node) << "input '" << in
                             << "' is not produced by any node, graph input or "
                                "initializer";
    operands.push_back(v);
  }
  SmallVector<Type> resultTypes;
  for (const std::string &out : node.output()) {
    Type t;
    auto it = valueTypes.find(out);
    if (!out.empty() && it != valueTypes.end()) {
      FailureOr<Type> imported = importType(*it->second, "value '" + out + "'");
      if (failed(imported))
        return failure();
      t = *imported;
    }
    resultTypes.push_back(t);
  }

  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  // AMCT's deploy models carry the Ascend ops in the default domain
  // (AscendQuant, ..., WeightQuantBatchMatmulV2), whose names no ONNX op has.
  if (domain.empty() && RegisteredOperationName::lookup("ascend." + node.op_type(), ctx))
    return importAscendNode(node, scope, loc, operands, resultTypes);
  const TypedOpInfo *info = nullptr;
  if (domain.empty()) {
    auto it = getTypedOps().find(node.op_type());
    if (it != getTypedOps().end())
      info = &it->second;
  }
  // A typed op only where it implements exactly this node: its opset range,
  // its operands and results, its attribute names, tensor operands.
  if (info) {
    bool fits = defaultOpset >= info->since && defaultOpset <= info->until &&
                (info->variadic || operands.size() <= info->numOperands) &&
                node.output_size() >= 1 && node.output_size() <= (int)info->maxResults &&
                llvm::none_of(outputNames, [](const std::string &s) { return s.empty(); });
    std::optional<RegisteredOperationName> opName =
        RegisteredOperationName::lookup(info->opName, ctx);
    for (const auto &attr : node.attribute())
      fits &= !attr.has_g() && attr.graphs_size() == 0 && attr.ref_attr_name().empty() &&
              llvm::is_contained(opName->getAttributeNames(),
                                 StringAttr::get(ctx, attr.name()));
    for (Value v : operands)
      fits &= isa<TensorType, NoneType>(v.getType());
    if (node.op_type() == "Identity" || node.op_type() == "Constant")
      for (Type t : resultTypes)
        fits &= !t || isa<TensorType>(t);
    if (fits) {
      FailureOr<Operation *> op = createTypedOp(node, *info, loc, operands, resultTypes);
      if (failed(op))
        return failure();
      for (auto [name, result] : llvm::zip(outputNames, (*op)->getResults()))
        scope.values[name] = result;
      return success();
    }
  }

  // The generic node: everything kept, subgraphs as regions.
  OperationState state(loc, NodeOp::getOperationName());
  state.addOperands(operands);
  if (domain.empty() && resultTypes.size() == 1 &&
      (!resultTypes[0] || isa<UnrankedTensorType>(resultTypes[0])))
    if (Type inferred = inferReduceWithAxesInput(node, operands))
      resultTypes[0] = inferred;
  for (Type &t : resultTypes)
    if (!t)
      t = UnknownType::get(ctx);
  state.addTypes(resultTypes);
  state.addAttribute("op_type", builder.getStringAttr(node.op_type()));
  if (!domain.empty())
    state.addAttribute("domain", builder.getStringAttr(domain));
  SmallVector<NamedAttribute> attrs;
  SmallVector<Attribute> subgraphNames;
  SmallVector<onnx::GraphProto *> subgraphs;
  for (auto &attr : *node.mutable_attribute()) {
    if (attr.type() == onnx::AttributeProto::GRAPH ||
        (attr.type() == onnx::AttributeProto::UNDEFINED && attr.has_g())) {
      subgraphNames.push_back(builder.getStringAttr(attr.name()));
      subgraphs.push_back(attr.mutable_g());
      state.addRegion();
      continue;
    }
    FailureOr<Attribute> value = importAttribute(attr, node);
    if (failed(value))
      return failure();
    attrs.push_back(builder.getNamedAttr(attr.name(), *value));
  }
  state.addAttribute("onnx_attrs", builder.getDictionaryAttr(attrs));
  if (!subgraphs.empty())
    state.addAttribute("subgraphs", builder.getArrayAttr(subgraphNames));
  Operation *op = builder.create(state);
  for (auto [i, graph] : llvm::enumerate(subgraphs)) {
    Block *body = new Block();
    op->getRegion(i).push_back(body);
    Scope inner;
    inner.parent = &scope;
    OpBuilder::InsertionGuard guard(builder);
    if (failed(importGraph(*graph, body, inner, /*isMain=*/false)))
      return failure();
  }
  builder.setInsertionPointAfter(op);
  for (auto [name, result] : llvm::zip(outputNames, op->getResults()))
    if (!name.empty())
      scope.values[name] = result;
  return success();
}

//===----------------------------------------------------------------------===//
// ONNX shape inference, isolated
//===----------------------------------------------------------------------===//

static void runOnnxInference(onnx::ModelProto &model) {
  try {
    onnx::ShapeInferenceOptions inferOptions(/*check_type=*/false,
                                             /*error_mode=*/0,
                                             /*data_prop=*/false);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       inferOptions);
  } catch (const std::exception &) {
  }
}

/// Visits `graph` and its subgraphs depth first, in a fixed order.
template <typename GraphT, typename Fn>
static void forEachGraph(GraphT &graph, Fn &&fn) {
  fn(graph);
  for (auto &node : *graph.mutable_node())
    for (auto &attr : *node.mutable_attribute()) {
      if (attr.has_g())
        forEachGraph(*attr.mutable_g(), fn);
      for (auto &g : *attr.mutable_graphs())
        forEachGraph(g, fn);
    }
}

/// ONNX's shape inference (libonnx) trusts its input: on a malformed model
/// (a ConvTranspose with a scalar weight, say) it reads through null
/// pointers. It runs in a forked child, which sends back only the value_info
/// and output types it found for each graph; a crash there costs the
/// types, and the importer's own checks then report what is wrong.
static void inferShapesIsolated(onnx::ModelProto &model) {
  (void)onnx::OpSchemaRegistry::Instance(); // initialized before forking
  int fds[2];
  if (pipe(fds) != 0) {
    runOnnxInference(model);
    return;
  }
  pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    runOnnxInference(model);
    return;
  }
  if (child == 0) {
    close(fds[0]);
    // A crash here is expected on bad models: no crash report from LLVM's
    // or a sanitizer's handlers, no core file.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
      signal(sig, SIG_DFL);
    struct rlimit noCore = {0, 0};
    setrlimit(RLIMIT_CORE, &noCore);
    int devNull = open("/dev/null", O_WRONLY);
    if (devNull >= 0)
      dup2(devNull, STDERR_FILENO);
    runOnnxInference(model);
    onnx::AttributeProto carrier;
    forEachGraph(*model.mutable_graph(), [&](onnx::GraphProto &g) {
      onnx::GraphProto *types = carrier.add_graphs();
      *types->mutable_value_info() = g.value_info();
      *types->mutable_output() = g.output();
    });
    std::string bytes;
    int status = carrier.SerializeToString(&bytes) ? 0 : 1;
    for (size_t done = 0; status == 0 && done < bytes.size();) {
      ssize_t n = write(fds[1], bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        status = 1;
      else
        done += n;
    }
    close(fds[1]);
    _exit(status); // no destructors or atexit handlers of the parent's state
  }
  close(fds[1]);
  std::string bytes;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    bytes.append(buffer, n);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  onnx::AttributeProto carrier;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !carrier.ParseFromString(bytes))
    return;
  int index = 0;
  forEachGraph(*model.mutable_graph(), [&](onnx::GraphProto &g) {
    if (index >= carrier.graphs_size())
      return;
    onnx::GraphProto &types = *carrier.mutable_graphs(index++);
    // Inference only adds types; anything else means the walk went astray.
    if (types.output_size() != g.output_size())
      return;
    g.mutable_value_info()->Swap(types.mutable_value_info());
    g.mutable_output()->Swap(types.mutable_output());
  });
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

LogicalResult Importer::verifyNodeSchemas(const onnx::GraphProto &graph,
                                          int depth) {
  if (depth > kMaxSubgraphDepth)
    return error() << "subgraphs nested deeper than " << kMaxSubgraphDepth;
  const auto &knownVersions =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const onnx::NodeProto &node : graph.node()) {
    std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    auto version = opsetVersions.find(domain);
    const onnx::OpSchema *schema = nullptr;
    if (version != opsetVersions.end())
      schema = onnx::OpSchemaRegistry::Schema(
          node.op_type(), static_cast<int>(version->second), domain);
    if (schema) {
      // Attributes the schema does not know are kept as they are (vendor
      // hints survive a round trip); everything else must match.
      const onnx::NodeProto *checked = &node;
      onnx::NodeProto known;
      auto isKnown = [&](const onnx::AttributeProto &a) {
        return schema->attributes().count(a.name()) != 0;
      };
      if (!llvm::all_of(node.attribute(), isKnown)) {
        known = node;
        known.clear_attribute();
        for (const onnx::AttributeProto &a : node.attribute())
          if (isKnown(a))
            *known.add_attribute() = a;
        checked = &known;
      }
      try {
        schema->Verify(*checked);
      } catch (const std::exception &e) {
        auto range = knownVersions.find(domain);
        bool authoritative =
            range != knownVersions.end() && version->second <= range->second.second;
        if (authoritative)
          return nodeError(node) << "does not match the ONNX schema of "
                                 << node.op_type() << " (opset "
                                 << version->second << "): " << e.what();
        // The opset is newer than the ONNX library: the schema found may be
        // an older version of the op, so the mismatch proves nothing, but
        // ONNX's inference must not run on it either.
        onnxInferenceSafe = false;
      }
    }
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.has_g() && failed(verifyNodeSchemas(attr.g(), depth + 1)))
        return failure();
      for (const onnx::GraphProto &g : attr.graphs())
        if (failed(verifyNodeSchemas(g, depth + 1)))
          return failure();
    }
  }
  return success();
}

FailureOr<OwningOpRef<ModuleOp>> Importer::importModel(onnx::ModelProto &model) {
  if (!model.has_graph())
    return error() << "not an ONNX model: no graph (empty or not a ModelProto)";
  Builder b(ctx);

  SmallVector<Attribute> opsets;
  bool hasDefault = false;
  for (const auto &op : model.opset_import()) {
    std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    opsetVersions[domain] = op.version();
    if (domain.empty()) {
      hasDefault = true;
      defaultOpset = op.version();
      if (op.version() > kMaxSupportedOpset || op.version() < 1)
        return error() << "default-domain opset " << op.version()
                       << " is not supported (expected 1.." << kMaxSupportedOpset << ")";
    }
    opsets.push_back(b.getArrayAttr({b.getStringAttr(op.domain()),
                                     b.getI64IntegerAttr(op.version())}));
  }
  if (!hasDefault && model.ir_version() >= 3)
    return error() << "model imports no default-domain opset";

  // ONNX's inference functions trust the node (a Scan without
  // num_scan_inputs crashes libonnx), and ONNX Runtime refuses such a node
  // anyway: check every node with a known schema first.
  if (failed(verifyNodeSchemas(model.graph(), 0)))
    return failure();

  // ONNX's own inference fills value_info; failures leave types unknown,
  // which the typed ops' own inference then covers.
  if (options.inferShapes && onnxInferenceSafe)
    inferShapesIsolated(model);

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  auto setStr = [&](StringRef name, const std::string &value) {
    if (!value.empty())
      (*module)->setAttr(name, b.getStringAttr(value));
  };
  (*module)->setAttr("amct.ir_version", b.getI64IntegerAttr(model.ir_version()));
  (*module)->setAttr("amct.opset_import", b.getArrayAttr(opsets));
  setStr("amct.producer_name", model.producer_name());
  setStr("amct.producer_version", model.producer_version());
  setStr("amct.domain", model.domain());
  setStr("amct.doc_string", model.doc_string());
  if (model.has_model_version())
    (*module)->setAttr("amct.model_version", b.getI64IntegerAttr(model.model_version()));
  if (model.metadata_props_size()) {
    SmallVector<Attribute> props;
    for (const auto &p : model.metadata_props())
      props.push_back(b.getArrayAttr({b.getStringAttr(p.key()), b.getStringAttr(p.value())}));
    (*module)->setAttr("amct.metadata_props", b.getArrayAttr(props));
  }
  if (model.functions_size()) {
    SmallVector<Attribute> functions;
    for (const auto &f : model.functions())
      functions.push_back(b.getStringAttr(f.SerializeAsString()));
    (*module)->setAttr("amct.functions", b.getArrayAttr(functions));
  }

  onnx::GraphProto &graph = *model.mutable_graph();
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());

  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  SmallVector<Attribute> defaultedInputs;
  llvm::StringSet<> inputNames;
  for (const auto &in : graph.input()) {
    if (!inputNames.insert(in.name()).second)
      return error() << "graph input '" << in.name() << "' is listed twice";
    if (initializerNames.contains(in.name())) {
      defaultedInputs.push_back(b.getStringAttr(in.name()));
      continue;
    }
    if (!in.has_type())
      return error() << "graph input '" << in.name() << "' has no type";
    FailureOr<Type> t = importType(in.type(), "graph input '" + in.name() + "'");
    if (failed(t))
      return failure();
    argTypes.push_back(*t);
    args.push_back(&in);
  }
  llvm::StringSet<> outputNames;
  for (const auto &out : graph.output())
    if (!outputNames.insert(out.name()).second)
      return error() << "graph output '" << out.name() << "' is listed twice";

  auto func = func::FuncOp::create(fileLoc, "main", b.getFunctionType(argTypes, {}));
  module->push_back(func);
  if (!graph.name().empty())
    func->setAttr("amct.graph_name", b.getStringAttr(graph.name()));
  if (!defaultedInputs.empty())
    func->setAttr("amct.initializer_inputs", b.getArrayAttr(defaultedInputs));
  mainBlock = func.addEntryBlock();
  Scope scope;
  for (auto [i, in] : llvm::enumerate(args)) {
    func.setArgAttr(i, "amct.name", b.getStringAttr(in->name()));
    SmallVector<Attribute> params;
    bool anyParam = false;
    if (in->type().has_tensor_type())
      for (const auto &d : in->type().tensor_type().shape().dim()) {
        params.push_back(b.getStringAttr(d.dim_param()));
        anyParam |= !d.dim_param().empty();
      }
    if (anyParam)
      func.setArgAttr(i, "amct.dim_params", b.getArrayAttr(params));
    scope.values[in->name()] = mainBlock->getArgument(i);
  }
  if (failed(importGraph(graph, mainBlock, scope, /*isMain=*/true)))
    return failure();

  auto ret = cast<func::ReturnOp>(mainBlock->getTerminator());
  func.setType(b.getFunctionType(argTypes, ret.getOperandTypes()));
  for (auto [i, out] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "amct.name", b.getStringAttr(out.name()));
    SmallVector<Attribute> params;
    bool anyParam = false;
    if (out.type().has_tensor_type())
      for (const auto &d : out.type().tensor_type().shape().dim()) {
        params.push_back(b.getStringAttr(d.dim_param()));
        anyParam |= !d.dim_param().empty();
      }
    if (anyParam)
      func.setResultAttr(i, "amct.dim_params", b.getArrayAttr(params));
  }
  if (noneValue && noneValue.use_empty())
    noneValue.getDefiningOp()->erase();

  // Verifier messages are collected, then re-emitted with the file and the
  // op's node name in front of them.
  LogicalResult verified = success();
  SmallVector<std::string> messages;
  {
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
      if (diag.getSeverity() != DiagnosticSeverity::Error)
        return success();
      Location loc = diag.getLocation();
      if (auto fused = dyn_cast<FusedLoc>(loc))
        loc = fused.getLocations().front();
      std::string node;
      if (auto name = dyn_cast<NameLoc>(loc))
        node = name.getName().str();
      messages.push_back("node '" + node + "': " + diag.str());
      return success();
    });
    verified = mlir::verify(*module);
  }
  for (const std::string &message : messages)
    error() << message;
  if (failed(verified))
    return failure();
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void amct::registerImportDialects(DialectRegistry &registry) {
  registry.insert<AmctDialect, ascend::AscendDialect, func::FuncDialect>();
}

static FailureOr<OwningOpRef<ModuleOp>>
importParsed(onnx::ModelProto &model, StringRef name, MLIRContext *context,
             const ImportOptions &options) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context->appendDialectRegistry(registry);
  context->loadDialect<AmctDialect, ascend::AscendDialect, func::FuncDialect>();
  Importer importer(context, name, options);
  return importer.importModel(model);
}

/// Parses a ModelProto from a stream, allowing models up to protobuf's 2 GiB
/// limit; `name` is for the message.
static LogicalResult parseModel(google::protobuf::io::ZeroCopyInputStream &stream,
                                onnx::ModelProto &model, StringRef name,
                                MLIRContext *context) {
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  if (model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage())
    return success();
  return emitError(FileLineColLoc::get(context, name, 0, 0))
         << name << ": not a valid ONNX model (the protobuf does not parse; "
                    "truncated or not an ONNX file?)";
}

FailureOr<OwningOpRef<ModuleOp>>
amct::importONNXBuffer(StringRef bytes, StringRef name, MLIRContext *context,
                       const ImportOptions &options) {
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream stream(bytes.data(), bytes.size());
  if (failed(parseModel(stream, model, name, context)))
    return failure();
  return importParsed(model, name, context, options);
}

FailureOr<OwningOpRef<ModuleOp>>
amct::importONNXFile(StringRef path, MLIRContext *context,
                     const ImportOptions &options) {
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  // Streamed from the file, not mapped: the parsed model is the only copy of
  // the weights in memory.
  // Not a directory, FIFO or device, and an open that cannot block.
  ReadableFile file;
  std::string reason;
  if (!openRegularFile(path.str(), file, reason))
    return emitError(loc) << reason;
  if (file.size() > (uint64_t)INT_MAX)
    return emitError(loc) << path
                          << ": larger than 2 GiB; ONNX keeps such weights as "
                             "external data";
  int fd = file.release();
  onnx::ModelProto model;
  LogicalResult parsed = success();
  {
    google::protobuf::io::FileInputStream stream(fd, 1 << 20);
    stream.SetCloseOnDelete(true);
    parsed = parseModel(stream, model, path, context);
  }
  if (failed(parsed))
    return failure();
  return importParsed(model, path, context, options);
}
