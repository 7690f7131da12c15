//===- ExportONNX.cpp - amct IR -> ONNX model -----------------------------===//
//
// The exporter names every value (graph inputs and outputs by their recorded
// names, results by the tensor names kept in their op's location, fresh
// unique names otherwise), then writes initializers, nodes, value_info and
// the model metadata recorded at import. Attributes are converted by their
// MLIR kind, which is the inverse of the importer's mapping.
//
//===----------------------------------------------------------------------===//

#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Support/ToolSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cfloat>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>

using namespace mlir;
using namespace amct;

namespace {

/// Lets protobuf serialize straight into an llvm::raw_ostream.
class RawOstreamAdaptor : public google::protobuf::io::CopyingOutputStream {
public:
  explicit RawOstreamAdaptor(llvm::raw_ostream &os) : os(os) {}
  bool Write(const void *buffer, int size) override {
    os.write(static_cast<const char *>(buffer), size);
    return true;
  }

private:
  llvm::raw_ostream &os;
};

class Exporter {
public:
  explicit Exporter(ModuleOp module) : module(module) {}
  LogicalResult exportModel(onnx::ModelProto &model);

private:
  LogicalResult exportRegion(Region &region, onnx::GraphProto &graph,
                             bool isMain, func::FuncOp func);
  LogicalResult exportOp(Operation *op, onnx::GraphProto &graph);
  LogicalResult exportFakeQuant(FakeQuantOp op, onnx::GraphProto &graph);
  LogicalResult exportDequantizeWeight(DequantizeWeightOp op, onnx::GraphProto &graph);
  LogicalResult exportFakeQuantPerToken(FakeQuantPerTokenOp op, onnx::GraphProto &graph);
  /// A node `type` named `base + suffix` of the standard ops an amct op is
  /// written as, reading `inputs`; its node and its (unique) output name.
  std::pair<onnx::NodeProto *, std::string> addHelperNode(onnx::GraphProto &graph,
                                                          const std::string &base, StringRef type,
                                                          StringRef suffix,
                                                          ArrayRef<std::string> inputs) {
    onnx::NodeProto *node = graph.add_node();
    node->set_op_type(type.str());
    node->set_name(uniqueName(base + suffix.str()));
    for (const std::string &in : inputs)
      node->add_input(in);
    std::string out = uniqueName(base + suffix.str() + "_out");
    node->add_output(out);
    return std::make_pair(node, out);
  }
  /// addHelperNode of a Cast of `input` to ONNX data type `to`.
  std::pair<onnx::NodeProto *, std::string> addHelperCast(onnx::GraphProto &graph,
                                                          const std::string &base,
                                                          StringRef suffix,
                                                          const std::string &input, int32_t to) {
    auto [node, out] = addHelperNode(graph, base, "Cast", suffix, {input});
    onnx::AttributeProto *a = node->add_attribute();
    a->set_name("to");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(to);
    return std::make_pair(node, out);
  }
  /// The last helper node `last` (output `out`) produces `result`: under
  /// the name reserved for it (a graph output) if any.
  LogicalResult bindHelperResult(Value result, onnx::NodeProto *last, std::string out,
                                 onnx::GraphProto &graph) {
    if (auto it = reserved.find(result); it != reserved.end()) {
      out = it->second;
      last->set_output(0, out);
    }
    names[result] = out;
    return addValueInfo(result, graph);
  }
  int64_t defaultOpset() const;
  LogicalResult exportType(Type type, onnx::TypeProto &proto, Operation *where,
                           ArrayAttr dimParams = {});
  LogicalResult exportTensor(ElementsAttr attr, onnx::TensorProto &tensor,
                             Operation *where, bool mayDefer = false);
  LogicalResult exportAttribute(StringRef name, Attribute attr,
                                onnx::AttributeProto &proto, Operation *where);
  std::string uniqueName(StringRef base);
  DictionaryAttr getDefaultAttrs(OperationName name);
  std::string nameOf(Value v);
  LogicalResult addValueInfo(Value v, onnx::GraphProto &graph);

public:
  /// Main-graph initializers whose bytes are written straight from the IR's
  /// blobs at serialization time instead of being copied into the proto.
  llvm::DenseMap<const onnx::TensorProto *, ArrayRef<char>> deferredRawData;

private:
  ModuleOp module;
  /// Nesting depth of the graph being exported (0: the main graph).
  unsigned graphDepth = 0;
  /// Names in use, one set per graph being exported (outermost first): a
  /// subgraph may not reuse an enclosing graph's names, but sibling
  /// subgraphs may reuse each other's.
  SmallVector<llvm::StringSet<>> usedNames{llvm::StringSet<>()};
  bool isUsed(StringRef name) const {
    return llvm::any_of(usedNames, [&](const llvm::StringSet<> &s) { return s.contains(name); });
  }
  bool claim(StringRef name) {
    if (isUsed(name))
      return false;
    usedNames.back().insert(name);
    return true;
  }
  llvm::DenseMap<Value, std::string> names;
  llvm::StringSet<> graphOutputNames;
  /// Results that are graph outputs take the output's name.
  llvm::DenseMap<Value, std::string> reserved;
  llvm::DenseMap<OperationName, DictionaryAttr> defaultAttrs;
  unsigned counter = 0;
};

} // namespace

std::string Exporter::uniqueName(StringRef base) {
  std::string name = base.empty() ? "t" : base.str();
  if (claim(name))
    return name;
  while (true) {
    std::string candidate = name + "_" + std::to_string(counter++);
    if (claim(candidate))
      return candidate;
  }
}

/// The attributes an op of this kind gets without being given any: what
/// Operation::create fills in for its default-valued attributes.
DictionaryAttr Exporter::getDefaultAttrs(OperationName name) {
  auto [it, inserted] = defaultAttrs.try_emplace(name);
  if (inserted) {
    OperationState state(UnknownLoc::get(name.getContext()), name);
    Operation *blank = Operation::create(state);
    it->second = blank->getAttrDictionary();
    blank->destroy();
  }
  return it->second;
}

std::string Exporter::nameOf(Value v) {
  if (isa<NoneType>(v.getType()))
    return "";
  auto it = names.find(v);
  return it == names.end() ? std::string() : it->second;
}

//===----------------------------------------------------------------------===//
// Types, tensors, attributes
//===----------------------------------------------------------------------===//

LogicalResult Exporter::exportType(Type type, onnx::TypeProto &proto,
                                   Operation *where, ArrayAttr dimParams) {
  if (auto seq = dyn_cast<SeqType>(type))
    return exportType(seq.getElementType(),
                      *proto.mutable_sequence_type()->mutable_elem_type(), where);
  if (auto opt = dyn_cast<OptType>(type))
    return exportType(opt.getElementType(),
                      *proto.mutable_optional_type()->mutable_elem_type(), where);
  auto tensor = dyn_cast<TensorType>(type);
  if (!tensor)
    return where->emitError() << "cannot export value of type " << type << " to ONNX";
  std::optional<int32_t> dataType = getOnnxDataTypeForElementType(tensor.getElementType());
  if (!dataType)
    return where->emitError() << "element type " << tensor.getElementType()
                              << " has no ONNX data type";
  auto *t = proto.mutable_tensor_type();
  t->set_elem_type(*dataType);
  if (!tensor.hasRank())
    return success();
  auto *shape = t->mutable_shape();
  for (auto [i, d] : llvm::enumerate(tensor.getShape())) {
    auto *dim = shape->add_dim();
    StringRef param;
    if (dimParams && i < dimParams.size())
      param = cast<StringAttr>(dimParams[i]).getValue();
    // A dim the type knows wins over a recorded symbolic name.
    if (!ShapedType::isDynamic(d))
      dim->set_dim_value(d);
    else if (!param.empty())
      dim->set_dim_param(param.str());
  }
  return success();
}

LogicalResult Exporter::exportTensor(ElementsAttr attr, onnx::TensorProto &tensor,
                                     Operation *where, bool mayDefer) {
  auto type = cast<ShapedType>(attr.getType());
  Type elem = type.getElementType();
  std::optional<int32_t> dataType = getOnnxDataTypeForElementType(elem);
  if (!dataType)
    return where->emitError() << "constant of element type " << elem
                              << " has no ONNX data type";
  tensor.set_data_type(*dataType);
  for (int64_t d : type.getShape())
    tensor.add_dims(d);
  int64_t n = type.getNumElements();
  if (auto strings = dyn_cast<DenseStringElementsAttr>(attr)) {
    for (StringRef s : strings.getRawStringData())
      tensor.add_string_data(s.str());
    if (strings.isSplat())
      for (int64_t i = 1; i < n; ++i)
        tensor.add_string_data(strings.getRawStringData()[0].str());
    return success();
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return where->emitError() << "constant refers to a missing resource blob";
    ArrayRef<char> data = blob->getData();
    if (mayDefer)
      deferredRawData[&tensor] = data;
    else
      tensor.mutable_raw_data()->assign(data.data(), data.size());
    return success();
  }
  std::string *raw = tensor.mutable_raw_data();
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return where->emitError() << "cannot export constant attribute " << attr;
  if (elem.isInteger(1)) {
    raw->reserve(n);
    for (bool b : dense.getValues<bool>())
      raw->push_back(b ? 1 : 0);
    return success();
  }
  ArrayRef<char> data = dense.getRawData();
  if (dense.isSplat()) {
    size_t elemBytes = data.size();
    raw->reserve(elemBytes * n);
    for (int64_t i = 0; i < n; ++i)
      raw->append(data.data(), elemBytes);
  } else {
    raw->assign(data.data(), data.size());
  }
  return success();
}

LogicalResult Exporter::exportAttribute(StringRef name, Attribute attr,
                                        onnx::AttributeProto &proto,
                                        Operation *where) {
  if (auto raw = dyn_cast<RawOnnxAttr>(attr)) {
    if (!proto.ParseFromString(raw.getSerialized().str()))
      return where->emitError() << "attribute '" << name
                                << "' holds a corrupt serialized ONNX attribute";
    return success();
  }
  proto.set_name(name.str());
  if (auto b = dyn_cast<BoolAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::INT);
    proto.set_i(b.getValue());
  } else if (auto i = dyn_cast<IntegerAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::INT);
    proto.set_i(i.getInt());
  } else if (auto f = dyn_cast<FloatAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::FLOAT);
    proto.set_f(f.getValueAsDouble());
  } else if (auto s = dyn_cast<StringAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::STRING);
    proto.set_s(s.getValue().str());
  } else if (auto ints = dyn_cast<DenseI64ArrayAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::INTS);
    for (int64_t v : ints.asArrayRef())
      proto.add_ints(v);
  } else if (auto floats = dyn_cast<DenseF32ArrayAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::FLOATS);
    for (float v : floats.asArrayRef())
      proto.add_floats(v);
  } else if (auto e = dyn_cast<ElementsAttr>(attr)) {
    proto.set_type(onnx::AttributeProto::TENSOR);
    return exportTensor(e, *proto.mutable_t(), where);
  } else if (auto array = dyn_cast<ArrayAttr>(attr);
             array && !array.empty() && llvm::all_of(array, llvm::IsaPred<StringAttr>)) {
    proto.set_type(onnx::AttributeProto::STRINGS);
    for (Attribute a : array)
      proto.add_strings(cast<StringAttr>(a).getValue().str());
  } else if (array && !array.empty() &&
             llvm::all_of(array, llvm::IsaPred<ElementsAttr>)) {
    proto.set_type(onnx::AttributeProto::TENSORS);
    for (Attribute a : array)
      if (failed(exportTensor(cast<ElementsAttr>(a), *proto.add_tensors(), where)))
        return failure();
  } else {
    return where->emitError() << "attribute '" << name << "' (" << attr
                              << ") has no ONNX attribute kind";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Fake quantization
//===----------------------------------------------------------------------===//

int64_t Exporter::defaultOpset() const {
  if (auto opsets = module->getAttrOfType<ArrayAttr>("amct.opset_import"))
    for (Attribute entry : opsets)
      if (auto pair = dyn_cast<ArrayAttr>(entry); pair && pair.size() == 2)
        if (auto d = dyn_cast<StringAttr>(pair[0]); d && (d.getValue().empty() || d.getValue() == "ai.onnx"))
          return cast<IntegerAttr>(pair[1]).getInt();
  return 17;
}

/// amct.fake_quant as ONNX QuantizeLinear + DequantizeLinear (int8). A
/// constant input (a weight) is quantized here and written as an int8
/// initializer with a DequantizeLinear, the form ONNX Runtime's QDQ
/// optimizer turns into integer kernels; a 32-bit fake_quant (a layer's
/// bias) is always on a constant and becomes an int32 initializer.
LogicalResult Exporter::exportFakeQuant(FakeQuantOp op, onnx::GraphProto &graph) {
  bool isBias = op.getNumBits() == 32;
  if (op.getNumBits() != 8 && !isBias)
    return op.emitError() << "only 8-bit and 32-bit fake_quant export to "
                             "QuantizeLinear/DequantizeLinear, found "
                          << op.getNumBits() << " bits";
  if (isBias && !op.getInput().getDefiningOp<ConstOp>())
    return op.emitError() << "a 32-bit fake_quant exports only on a constant (an int32 bias)";
  std::optional<int64_t> axis = op.getAxis();
  if (axis && defaultOpset() < 13)
    return op.emitError() << "per-channel QuantizeLinear/DequantizeLinear needs opset 13, the "
                             "model imports opset "
                          << defaultOpset();
  std::string base = getNodeName(op).str();
  if (base.empty())
    base = "fake_quant";
  ArrayRef<float> scale = op.getScale();
  ArrayRef<int64_t> offset = op.getOffset();
  auto addParam = [&](StringRef suffix, int32_t dataType, auto fill) {
    onnx::TensorProto *t = graph.add_initializer();
    std::string name = uniqueName(base + suffix.str());
    t->set_name(name);
    t->set_data_type(dataType);
    if (axis)
      t->add_dims(scale.size());
    fill(*t);
    return name;
  };
  std::string scaleName = addParam("_scale", onnx::TensorProto::FLOAT, [&](onnx::TensorProto &t) {
    for (float s : scale)
      t.add_float_data(s);
  });
  std::string zpName = addParam(
      "_zero_point", isBias ? onnx::TensorProto::INT32 : onnx::TensorProto::INT8,
      [&](onnx::TensorProto &t) {
        std::string raw;
        for (int64_t o : offset) {
          if (isBias) {
            int32_t v = static_cast<int32_t>(o);
            raw.append(reinterpret_cast<const char *>(&v), 4);
          } else {
            raw.push_back(static_cast<char>(static_cast<int8_t>(o)));
          }
        }
        t.set_raw_data(raw);
      });
  auto setAxis = [&](onnx::NodeProto *node) {
    if (!axis)
      return;
    auto *a = node->add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(*axis);
  };

  std::string quantized;
  if (auto c = op.getInput().getDefiningOp<ConstOp>()) {
    // The same integers --amct-convert writes into the deploy model.
    std::string error;
    std::optional<std::vector<int32_t>> q = quantizeConstantInput(op, error);
    if (!q)
      return op.emitError() << error;
    onnx::TensorProto *t = graph.add_initializer();
    quantized = uniqueName(base + (isBias ? "_int32" : "_int8"));
    t->set_name(quantized);
    t->set_data_type(isBias ? onnx::TensorProto::INT32 : onnx::TensorProto::INT8);
    for (int64_t d : cast<RankedTensorType>(c.getType()).getShape())
      t->add_dims(d);
    std::string *raw = t->mutable_raw_data();
    if (isBias) {
      raw->assign(reinterpret_cast<const char *>(q->data()), q->size() * 4);
    } else {
      raw->resize(q->size());
      for (size_t i = 0; i < q->size(); ++i)
        (*raw)[i] = static_cast<char>(static_cast<int8_t>((*q)[i]));
    }
  } else {
    onnx::NodeProto *q = graph.add_node();
    q->set_op_type("QuantizeLinear");
    q->set_name(base + "_quantize");
    q->add_input(nameOf(op.getInput()));
    q->add_input(scaleName);
    q->add_input(zpName);
    quantized = uniqueName(base + "_quantized");
    q->add_output(quantized);
    setAxis(q);
  }
  onnx::NodeProto *dq = graph.add_node();
  dq->set_op_type("DequantizeLinear");
  dq->set_name(base + "_dequantize");
  dq->add_input(quantized);
  dq->add_input(scaleName);
  dq->add_input(zpName);
  setAxis(dq);
  auto it = reserved.find(op.getResult());
  std::string out = it != reserved.end() ? it->second : uniqueName(base + "_out");
  names[op.getResult()] = out;
  dq->add_output(out);
  return addValueInfo(op.getResult(), graph);
}

/// amct.dequantize_weight as standard ops any opset >= 6 has, so ONNX
/// Runtime computes the float weight with the same float operations as the
/// executor and the deploy op: Cast(q) [- offset] * scale, the group
/// parameters of each row picked by a Gather with an int64 row-to-group
/// index (no float copy of the weight is stored).
LogicalResult Exporter::exportDequantizeWeight(DequantizeWeightOp op, onnx::GraphProto &graph) {
  if (defaultOpset() < 6)
    return op.emitError() << "the weight dequantization needs opset 6 (Cast with an integer "
                             "'to'), the model imports opset "
                          << defaultOpset();
  std::string base = getNodeName(op).str();
  if (base.empty())
    base = "dequantize_weight";
  auto addNode = [&](StringRef type, StringRef suffix, ArrayRef<std::string> inputs) {
    return addHelperNode(graph, base, type, suffix, inputs);
  };
  std::string qf =
      addHelperCast(graph, base, "_cast", nameOf(op.getQ()), onnx::TensorProto::FLOAT).second;

  int64_t groupSize = op.getGroupSize();
  std::string rowGroup;
  if (groupSize > 0) {
    auto qType = cast<RankedTensorType>(op.getQ().getType());
    if (qType.isDynamicDim(0))
      return op.emitError() << "a grouped weight needs a static K to export";
    int64_t k = qType.getDimSize(0);
    onnx::TensorProto *t = graph.add_initializer();
    rowGroup = uniqueName(base + "_row_group");
    t->set_name(rowGroup);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(k);
    std::string *raw = t->mutable_raw_data();
    raw->resize(k * sizeof(int64_t));
    for (int64_t r = 0; r < k; ++r) {
      int64_t g = r / groupSize;
      std::memcpy(raw->data() + r * sizeof(int64_t), &g, sizeof(int64_t));
    }
  }
  // A [G, N] parameter as the [K, N] one of each row, or as is.
  auto perRow = [&](Value param, StringRef suffix) {
    if (rowGroup.empty())
      return nameOf(param);
    return addNode("Gather", suffix, {nameOf(param), rowGroup}).second;
  };
  std::string value = qf;
  if (!isa<NoneType>(op.getOffset().getType()))
    value = addNode("Sub", "_sub_offset", {value, perRow(op.getOffset(), "_offset_rows")}).second;
  auto [last, out] = addNode("Mul", "_scale", {value, perRow(op.getScale(), "_scale_rows")});
  // A 16-bit model's weight: the float32 value cast (rounded to nearest even).
  Type elem = cast<ShapedType>(op.getType()).getElementType();
  if (!elem.isF32())
    std::tie(last, out) =
        addHelperCast(graph, base, "_to16", out,
                      elem.isF16() ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::BFLOAT16);
  return bindHelperResult(op.getResult(), last, out, graph);
}

/// amct.fake_quant_per_token as the standard ops that compute its float32
/// values in ONNX Runtime (opset 11+: Round, Clip with inputs): per row of
/// the last axis, ReduceMax(Abs) / 127 floored at FLT_MIN, then
/// Clip(Round(x / s)) * s; asymmetric with ReduceMin/ReduceMax widened to
/// contain 0, (hi - lo) / 255 and the zero point -128 - Round(lo / s).
LogicalResult Exporter::exportFakeQuantPerToken(FakeQuantPerTokenOp op,
                                                onnx::GraphProto &graph) {
  int64_t opset = defaultOpset();
  if (opset < 11)
    return op.emitError() << "per-token quantization exports with Round and Clip, which need "
                             "opset 11; the model imports opset "
                          << opset;
  std::string base = getNodeName(op).str();
  if (base.empty())
    base = "fake_quant_per_token";
  auto scalar = [&](StringRef suffix, float v) {
    onnx::TensorProto *t = graph.add_initializer();
    std::string name = uniqueName(base + suffix.str());
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(v);
    return name;
  };
  auto addNode = [&](StringRef type, StringRef suffix, ArrayRef<std::string> inputs) {
    return addHelperNode(graph, base, type, suffix, inputs);
  };
  // Reduce over the last axis, keeping it (axes an input from opset 18).
  std::string axes;
  auto reduce = [&](StringRef type, StringRef suffix, const std::string &in) {
    if (opset >= 18 && axes.empty()) {
      onnx::TensorProto *t = graph.add_initializer();
      axes = uniqueName(base + "_axes");
      t->set_name(axes);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(1);
      t->add_int64_data(-1);
    }
    auto [node, out] = opset >= 18 ? addNode(type, suffix, {in, axes}) : addNode(type, suffix, {in});
    if (opset < 18) {
      onnx::AttributeProto *a = node->add_attribute();
      a->set_name("axes");
      a->set_type(onnx::AttributeProto::INTS);
      a->add_ints(-1);
    }
    onnx::AttributeProto *keep = node->add_attribute();
    keep->set_name("keepdims");
    keep->set_type(onnx::AttributeProto::INT);
    keep->set_i(1);
    return out;
  };
  // A 16-bit input is quantized in float32 (Cast there and back), as the
  // executor does it.
  Type elem = cast<ShapedType>(op.getType()).getElementType();
  auto castTo = [&](const std::string &in, StringRef suffix, int32_t to) {
    return addHelperCast(graph, base, suffix, in, to);
  };
  std::string x = nameOf(op.getInput());
  if (!elem.isF32())
    x = castTo(x, "_to32", onnx::TensorProto::FLOAT).second;
  std::string lo128 = scalar("_qmin", -128.0f), hi127 = scalar("_qmax", 127.0f);
  std::string floor = scalar("_min_scale", FLT_MIN);
  std::string scale, offset;
  if (!op.getAsymmetric()) {
    std::string amax = reduce("ReduceMax", "_absmax", addNode("Abs", "_abs", {x}).second);
    std::string raw = addNode("Div", "_scale_raw", {amax, scalar("_levels", 127.0f)}).second;
    scale = addNode("Max", "_scale", {raw, floor}).second;
  } else {
    std::string zero = scalar("_zero", 0.0f);
    std::string lo = addNode("Min", "_lo", {reduce("ReduceMin", "_min", x), zero}).second;
    std::string hi = addNode("Max", "_hi", {reduce("ReduceMax", "_max", x), zero}).second;
    std::string range = addNode("Sub", "_range", {hi, lo}).second;
    std::string raw = addNode("Div", "_scale_raw", {range, scalar("_levels", 255.0f)}).second;
    scale = addNode("Max", "_scale", {raw, floor}).second;
    std::string loQ = addNode("Round", "_lo_round",
                              {addNode("Div", "_lo_div", {lo, scale}).second}).second;
    std::string zp = addNode("Sub", "_zp_raw", {lo128, loQ}).second;
    offset = addNode("Clip", "_zp", {zp, lo128, hi127}).second;
  }
  std::string q = addNode("Round", "_round", {addNode("Div", "_div", {x, scale}).second}).second;
  if (!offset.empty())
    q = addNode("Add", "_add_zp", {q, offset}).second;
  q = addNode("Clip", "_clip", {q, lo128, hi127}).second;
  if (!offset.empty())
    q = addNode("Sub", "_sub_zp", {q, offset}).second;
  auto [last, out] = addNode("Mul", "_dequantize", {q, scale});
  if (!elem.isF32())
    std::tie(last, out) = castTo(out, "_to16", elem.isF16() ? onnx::TensorProto::FLOAT16
                                                            : onnx::TensorProto::BFLOAT16);
  return bindHelperResult(op.getResult(), last, out, graph);
}

//===----------------------------------------------------------------------===//
// Graphs
//===----------------------------------------------------------------------===//

LogicalResult Exporter::addValueInfo(Value v, onnx::GraphProto &graph) {
  if (isa<UnknownType, NoneType>(v.getType()))
    return success();
  std::string name = nameOf(v);
  if (name.empty() || graphOutputNames.contains(name))
    return success();
  onnx::ValueInfoProto *vi = graph.add_value_info();
  vi->set_name(name);
  return exportType(v.getType(), *vi->mutable_type(), v.getDefiningOp());
}

LogicalResult Exporter::exportOp(Operation *op, onnx::GraphProto &graph) {
  if (isa<NoneOp>(op))
    return success();
  if (auto c = dyn_cast<ConstOp>(op)) {
    // A weight read only by fake-quant ops is written as their int8 form.
    if (!c->use_empty() && llvm::all_of(c->getUsers(), llvm::IsaPred<FakeQuantOp>) &&
        !reserved.count(c.getResult()))
      return success();
    auto it = reserved.find(c.getResult());
    std::string name =
        it != reserved.end() ? it->second : uniqueName(getNodeName(op));
    names[c.getResult()] = name;
    onnx::TensorProto *t = graph.add_initializer();
    t->set_name(name);
    return exportTensor(c.getValue(), *t, op, /*mayDefer=*/graphDepth == 0);
  }
  if (auto fq = dyn_cast<FakeQuantOp>(op))
    return exportFakeQuant(fq, graph);
  if (auto dq = dyn_cast<DequantizeWeightOp>(op))
    return exportDequantizeWeight(dq, graph);
  if (auto fq = dyn_cast<FakeQuantPerTokenOp>(op))
    return exportFakeQuantPerToken(fq, graph);

  onnx::NodeProto *node = graph.add_node();
  node->set_name(getNodeName(op).str());
  SmallVector<NamedAttribute> attrs;
  SmallVector<std::pair<StringRef, Region *>> subgraphs;
  if (auto generic = dyn_cast<NodeOp>(op)) {
    node->set_op_type(generic.getOpType().str());
    node->set_domain(generic.getDomain().str());
    llvm::append_range(attrs, generic.getOnnxAttrs());
    if (auto sub = generic.getSubgraphs())
      for (auto [name, region] : llvm::zip(*sub, generic.getBodies()))
        subgraphs.push_back({cast<StringAttr>(name).getValue(), &region});
  } else if (op->hasTrait<::amct::OpTrait::OnnxOp>() ||
             isa<ascend::AscendDialect>(op->getDialect())) {
    node->set_op_type(op->getName().stripDialect().str());
    // Defaults the op materialised are left out: some attributes do not
    // exist in older opsets, and an absent attribute means its default.
    DictionaryAttr defaults = getDefaultAttrs(op->getName());
    for (NamedAttribute a : op->getAttrDictionary())
      // offset_x is ours: AMCT's deploy models carry the data zero point on
      // the AscendQuant feeding the layer, and the importer puts it back.
      if (defaults.get(a.getName()) != a.getValue() && a.getName() != "offset_x")
        attrs.push_back(a);
  } else {
    return op->emitError() << "op '" << op->getName()
                           << "' has no ONNX form; run the conversion passes first";
  }

  for (Value in : op->getOperands())
    node->add_input(nameOf(in));
  // Trailing absent inputs are simply left out, as ONNX writers do.
  while (node->input_size() && node->input(node->input_size() - 1).empty())
    node->mutable_input()->RemoveLast();

  SmallVector<StringRef> recorded = getOutputNames(op);
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    StringRef want = i < recorded.size() ? recorded[i] : StringRef();
    std::string name;
    if (auto it = reserved.find(result); it != reserved.end())
      name = it->second;
    else if (want.empty() && result.use_empty() && i < recorded.size())
      name = ""; // an output slot the model left unnamed
    else
      name = uniqueName(want.empty() ? (node->name().empty() ? node->op_type()
                                                              : node->name()) +
                                           "_out" + std::to_string(i)
                                     : want.str());
    names[result] = name;
    node->add_output(name);
  }

  for (const NamedAttribute &a : attrs)
    if (failed(exportAttribute(a.getName(), a.getValue(), *node->add_attribute(), op)))
      return failure();
  for (auto [name, region] : subgraphs) {
    onnx::AttributeProto *attr = node->add_attribute();
    attr->set_name(name.str());
    attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto *g = attr->mutable_g();
    g->set_name(name.str());
    ++graphDepth;
    usedNames.emplace_back();
    LogicalResult exported = exportRegion(*region, *g, /*isMain=*/false, {});
    usedNames.pop_back();
    --graphDepth;
    if (failed(exported))
      return failure();
  }
  for (Value result : op->getResults())
    if (failed(addValueInfo(result, graph)))
      return failure();
  return success();
}

LogicalResult Exporter::exportRegion(Region &region, onnx::GraphProto &graph,
                                     bool isMain, func::FuncOp func) {
  Block &block = region.front();
  for (BlockArgument arg : block.getArguments()) {
    std::string want;
    ArrayAttr dimParams;
    if (isMain) {
      if (auto n = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "amct.name"))
        want = n.getValue().str();
      dimParams = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "amct.dim_params");
    } else if (auto loc = dyn_cast<NameLoc>(arg.getLoc())) {
      want = loc.getName().str();
    }
    std::string name = uniqueName(want.empty() ? "input" : want);
    names[arg] = name;
    onnx::ValueInfoProto *vi = graph.add_input();
    vi->set_name(name);
    if (!isa<UnknownType>(arg.getType()) &&
        failed(exportType(arg.getType(), *vi->mutable_type(),
                          isMain ? func.getOperation() : region.getParentOp(),
                          dimParams)))
      return failure();
  }

  // Graph output names are claimed first so that the producing node's
  // result takes the output's name and no Identity is needed.
  Operation *terminator = block.getTerminator();
  SmallVector<std::string> outputNames;
  for (auto [i, v] : llvm::enumerate(terminator->getOperands())) {
    std::string want;
    if (isMain) {
      if (auto n = func.getResultAttrOfType<StringAttr>(i, "amct.name"))
        want = n.getValue().str();
    } else {
      SmallVector<StringRef> recorded = getOutputNames(terminator);
      if (i < recorded.size())
        want = recorded[i].str();
    }
    outputNames.push_back(want.empty() ? "output_" + std::to_string(i) : want);
  }
  for (auto [v, want] : llvm::zip(terminator->getOperands(), outputNames)) {
    if (isMain)
      graphOutputNames.insert(want);
    if (isa<OpResult>(v) && !reserved.count(v) && !isUsed(want)) {
      claim(want);
      reserved[v] = want;
    }
  }

  for (Operation &op : block.without_terminator())
    if (failed(exportOp(&op, graph)))
      return failure();

  for (auto [i, v] : llvm::enumerate(terminator->getOperands())) {
    std::string name = nameOf(v);
    const std::string &want = outputNames[i];
    if (name != want) {
      // The value already has another name (an input, an initializer, or an
      // earlier output): an Identity gives the output its own name.
      onnx::NodeProto *id = graph.add_node();
      id->set_op_type("Identity");
      id->set_name(want + "_identity");
      id->add_input(name);
      std::string outName = uniqueName(want);
      id->add_output(outName);
      name = outName;
    }
    onnx::ValueInfoProto *vi = graph.add_output();
    vi->set_name(name);
    ArrayAttr dimParams =
        isMain ? func.getResultAttrOfType<ArrayAttr>(i, "amct.dim_params") : ArrayAttr();
    if (!isa<UnknownType>(v.getType()) &&
        failed(exportType(v.getType(), *vi->mutable_type(), terminator, dimParams)))
      return failure();
  }
  return success();
}

LogicalResult Exporter::exportModel(onnx::ModelProto &model) {
  auto funcs = llvm::to_vector(module.getOps<func::FuncOp>());
  func::FuncOp main;
  for (func::FuncOp f : funcs)
    if (f.getSymName() == "main")
      main = f;
  if (!main && funcs.size() == 1)
    main = funcs.front();
  if (!main)
    return module.emitError("expected a func.func @main to export");
  if (main.isExternal())
    return main.emitError("cannot export a function without a body");
  if (!main.getBody().hasOneBlock())
    return main.emitError("cannot export a function with more than one block");

  Operation *m = module.getOperation();
  auto irVersion = m->getAttrOfType<IntegerAttr>("amct.ir_version");
  model.set_ir_version(irVersion ? irVersion.getInt() : 8);
  if (auto opsets = m->getAttrOfType<ArrayAttr>("amct.opset_import")) {
    for (Attribute entry : opsets) {
      auto pair = dyn_cast<ArrayAttr>(entry);
      if (!pair || pair.size() != 2 || !isa<StringAttr>(pair[0]) ||
          !isa<IntegerAttr>(pair[1]))
        return module.emitError("amct.opset_import entries must be [domain, version]");
      auto *op = model.add_opset_import();
      op->set_domain(cast<StringAttr>(pair[0]).getValue().str());
      op->set_version(cast<IntegerAttr>(pair[1]).getInt());
    }
  } else {
    auto *op = model.add_opset_import();
    op->set_domain("");
    op->set_version(17);
  }
  auto getStr = [&](StringRef name) -> std::string {
    auto s = m->getAttrOfType<StringAttr>(name);
    return s ? s.getValue().str() : std::string();
  };
  model.set_producer_name(m->hasAttr("amct.producer_name") ? getStr("amct.producer_name")
                                                            : "amct-mlir");
  model.set_producer_version(getStr("amct.producer_version"));
  if (m->hasAttr("amct.domain"))
    model.set_domain(getStr("amct.domain"));
  if (m->hasAttr("amct.doc_string"))
    model.set_doc_string(getStr("amct.doc_string"));
  if (auto v = m->getAttrOfType<IntegerAttr>("amct.model_version"))
    model.set_model_version(v.getInt());
  if (auto props = m->getAttrOfType<ArrayAttr>("amct.metadata_props"))
    for (Attribute p : props) {
      auto pair = cast<ArrayAttr>(p);
      auto *entry = model.add_metadata_props();
      entry->set_key(cast<StringAttr>(pair[0]).getValue().str());
      entry->set_value(cast<StringAttr>(pair[1]).getValue().str());
    }
  if (auto functions = m->getAttrOfType<ArrayAttr>("amct.functions"))
    for (Attribute f : functions)
      if (!model.add_functions()->ParseFromString(cast<StringAttr>(f).getValue().str()))
        return module.emitError("amct.functions holds a corrupt FunctionProto");

  onnx::GraphProto &graph = *model.mutable_graph();
  auto graphName = main->getAttrOfType<StringAttr>("amct.graph_name");
  graph.set_name(graphName ? graphName.getValue().str() : "main");
  if (failed(exportRegion(main.getBody(), graph, /*isMain=*/true, main)))
    return failure();
  // Initializers that old models also list as graph inputs.
  if (auto defaulted = main->getAttrOfType<ArrayAttr>("amct.initializer_inputs")) {
    for (Attribute a : defaulted) {
      StringRef name = cast<StringAttr>(a).getValue();
      for (const auto &init : graph.initializer()) {
        if (init.name() != name)
          continue;
        onnx::ValueInfoProto *vi = graph.add_input();
        vi->set_name(name.str());
        auto *t = vi->mutable_type()->mutable_tensor_type();
        t->set_elem_type(init.data_type());
        auto *shape = t->mutable_shape();
        for (int64_t d : init.dims())
          shape->add_dim()->set_dim_value(d);
      }
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Protobuf wire tag of a length-delimited field.
static uint32_t lengthDelimitedTag(uint32_t field) { return (field << 3) | 2; }

/// Initializers of at least this many bytes go to the external data file.
static constexpr size_t kExternalThreshold = 1024;
/// Each tensor in the external data file starts at a multiple of this.
static constexpr uint64_t kExternalAlignment = 64;

/// The deferred initializers that go to the external data file named
/// `location`, in initializer order, each with its offset: their protos
/// are marked EXTERNAL (location, offset, length) and they leave
/// `deferred`. Returns the (initializer, bytes, offset) list.
static std::vector<std::tuple<const onnx::TensorProto *, ArrayRef<char>, uint64_t>>
moveToExternalData(google::protobuf::RepeatedPtrField<onnx::TensorProto> &initializers,
                   llvm::DenseMap<const onnx::TensorProto *, ArrayRef<char>> &deferred,
                   const std::string &location) {
  std::vector<std::tuple<const onnx::TensorProto *, ArrayRef<char>, uint64_t>> placed;
  uint64_t offset = 0;
  for (onnx::TensorProto &init : initializers) {
    auto it = deferred.find(&init);
    if (it == deferred.end() || it->second.size() < kExternalThreshold)
      continue;
    offset = (offset + kExternalAlignment - 1) / kExternalAlignment * kExternalAlignment;
    init.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char *key, const std::string &value) {
      onnx::StringStringEntryProto *e = init.add_external_data();
      e->set_key(key);
      e->set_value(value);
    };
    add("location", location);
    add("offset", std::to_string(offset));
    add("length", std::to_string(it->second.size()));
    placed.emplace_back(&init, it->second, offset);
    offset += it->second.size();
    deferred.erase(it);
  }
  return placed;
}

/// Serializes `model`, writing the deferred initializer bytes from the IR's
/// blobs as each initializer's raw_data (field 9) so that the weights are
/// never copied into the proto: memory stays at one copy of the model.
/// With `externalData`, the large ones are references into that file
/// instead (written by writeExternalData).
static LogicalResult
serializeModel(onnx::ModelProto &model,
               llvm::DenseMap<const onnx::TensorProto *, ArrayRef<char>> deferred,
               google::protobuf::io::CodedOutputStream &out, ModuleOp module,
               const std::string &externalData) {
  using google::protobuf::io::CodedOutputStream;
  std::unique_ptr<onnx::GraphProto> graph(model.release_graph());
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  initializers.Swap(graph->mutable_initializer());
  if (!externalData.empty())
    moveToExternalData(initializers, deferred, externalData);

  constexpr uint32_t kGraphField = 7, kInitializerField = 5, kRawDataField = 9;
  std::vector<uint64_t> initSizes;
  uint64_t graphSize = graph->ByteSizeLong();
  for (const onnx::TensorProto &init : initializers) {
    uint64_t size = init.ByteSizeLong();
    auto it = deferred.find(&init);
    if (it != deferred.end())
      size += CodedOutputStream::VarintSize32(lengthDelimitedTag(kRawDataField)) +
              CodedOutputStream::VarintSize64(it->second.size()) + it->second.size();
    initSizes.push_back(size);
    graphSize += CodedOutputStream::VarintSize32(lengthDelimitedTag(kInitializerField)) +
                 CodedOutputStream::VarintSize64(size) + size;
  }
  if (graphSize + model.ByteSizeLong() > (uint64_t)INT_MAX)
    return module.emitError("the model exceeds protobuf's 2 GiB limit even with its "
                            "weights as external data");

  if (!model.SerializeToCodedStream(&out))
    return module.emitError("failed to serialize the ONNX model");
  out.WriteVarint32(lengthDelimitedTag(kGraphField));
  out.WriteVarint64(graphSize);
  if (!graph->SerializeToCodedStream(&out))
    return module.emitError("failed to serialize the ONNX graph");
  for (auto [init, size] : llvm::zip(initializers, initSizes)) {
    out.WriteVarint32(lengthDelimitedTag(kInitializerField));
    out.WriteVarint64(size);
    if (!init.SerializeToCodedStream(&out))
      return module.emitError("failed to serialize initializer ") << init.name();
    auto it = deferred.find(&init);
    if (it == deferred.end())
      continue;
    out.WriteVarint32(lengthDelimitedTag(kRawDataField));
    out.WriteVarint64(it->second.size());
    out.WriteRaw(it->second.data(), it->second.size());
  }
  return success(!out.HadError());
}

LogicalResult amct::exportONNX(ModuleOp module, llvm::raw_ostream &os,
                               const OnnxExportOptions &options) {
  onnx::ModelProto model;
  Exporter exporter(module);
  if (failed(exporter.exportModel(model)))
    return failure();
  RawOstreamAdaptor adaptor(os);
  google::protobuf::io::CopyingOutputStreamAdaptor stream(&adaptor);
  LogicalResult result = success();
  {
    google::protobuf::io::CodedOutputStream coded(&stream);
    result = serializeModel(model, exporter.deferredRawData, coded, module,
                            options.externalDataFile);
  }
  stream.Flush();
  return result;
}

LogicalResult amct::exportONNXExternalData(ModuleOp module, llvm::raw_ostream &os,
                                           const OnnxExportOptions &options) {
  onnx::ModelProto model;
  Exporter exporter(module);
  if (failed(exporter.exportModel(model)))
    return failure();
  auto deferred = exporter.deferredRawData;
  auto placed = moveToExternalData(*model.mutable_graph()->mutable_initializer(), deferred,
                                   options.externalDataFile);
  uint64_t at = 0;
  for (auto &[init, bytes, offset] : placed) {
    os.write_zeros(offset - at);
    os.write(bytes.data(), bytes.size());
    at = offset + bytes.size();
  }
  return success();
}

FailureOr<bool> amct::exceedsProtobufLimit(ModuleOp module) {
  onnx::ModelProto model;
  Exporter exporter(module);
  if (failed(exporter.exportModel(model)))
    return failure();
  // Serialized size: the proto's own plus each deferred blob with its tag.
  uint64_t size = model.ByteSizeLong();
  for (auto &[init, bytes] : exporter.deferredRawData)
    size += bytes.size() + 16;
  return size > uint64_t(INT_MAX);
}

/// The bytes of the module's tensor attributes (initializers, Constant
/// nodes' values): under half the protobuf limit, the model fits with room
/// to spare for its nodes and names, and no trial export is needed.
static uint64_t tensorAttributeBytes(ModuleOp module) {
  uint64_t bytes = 0;
  module.walk([&](Operation *op) {
    for (NamedAttribute a : op->getAttrs())
      if (auto e = dyn_cast<ElementsAttr>(a.getValue())) {
        if (auto res = dyn_cast<DenseResourceElementsAttr>(e)) {
          if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
            bytes += blob->getData().size();
          continue;
        }
        Type elem = e.getElementType();
        uint64_t bits = elem.isIntOrFloat() ? elem.getIntOrFloatBitWidth() : 64;
        bytes += uint64_t(e.getNumElements()) * std::max<uint64_t>(bits / 8, 1);
      }
  });
  return bytes;
}

FailureOr<std::vector<OutputFile>>
amct::onnxOutputFiles(ModuleOp module, StringRef path, bool externalData) {
  if (!externalData && tensorAttributeBytes(module) > uint64_t(INT_MAX) / 2) {
    FailureOr<bool> big = exceedsProtobufLimit(module);
    if (failed(big))
      return failure();
    externalData = *big;
  }
  std::string modelPath = path.str();
  if (!externalData)
    return std::vector<OutputFile>{
        {modelPath, [module](llvm::raw_ostream &os) { return exportONNX(module, os); }}};
  OnnxExportOptions options;
  options.externalDataFile = llvm::sys::path::filename(path).str() + ".data";
  std::string dataPath = modelPath + ".data";
  return std::vector<OutputFile>{
      {dataPath,
       [module, options](llvm::raw_ostream &os) {
         return exportONNXExternalData(module, os, options);
       }},
      {modelPath,
       [module, options](llvm::raw_ostream &os) { return exportONNX(module, os, options); }}};
}

FailureOr<std::vector<OutputFile>>
amct::onnxOutputFiles(ArrayRef<std::pair<ModuleOp, std::string>> models, bool externalData) {
  std::vector<OutputFile> all;
  for (const auto &[module, path] : models) {
    FailureOr<std::vector<OutputFile>> files = onnxOutputFiles(module, path, externalData);
    if (failed(files))
      return failure();
    llvm::append_range(all, *files);
  }
  return all;
}

LogicalResult amct::exportONNXFile(ModuleOp module, StringRef path, bool externalData) {
  FailureOr<std::vector<OutputFile>> files = onnxOutputFiles(module, path, externalData);
  if (failed(files))
    return failure();
  std::string error;
  if (succeeded(writeFilesAtomically(*files, &error)))
    return success();
  if (!error.empty())
    module.emitError() << error;
  return failure();
}
