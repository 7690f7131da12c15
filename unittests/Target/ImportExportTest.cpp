//===- ImportExportTest.cpp - ONNX importer and exporter ------------------===//
//
// Models are built here with ONNX's own protobuf classes, imported from
// memory, and the resulting IR or error is checked; exported bytes are
// parsed back with protobuf and compared field by field.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

#include <onnx/onnx_pb.h>

using namespace mlir;
using namespace amct;

namespace {

void addInput(onnx::GraphProto &g, const std::string &name, std::vector<int64_t> dims) {
  auto *vi = g.add_input();
  vi->set_name(name);
  auto *t = vi->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::TensorProto *addFloatInit(onnx::GraphProto &g, const std::string &name,
                                std::vector<int64_t> dims, std::vector<float> data) {
  auto *t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char *>(data.data()),
                              data.size() * sizeof(float)));
  return t;
}

/// Conv(x, w) -> Relu, with a 1x2x4x4 input and a 3x2x3x3 weight.
onnx::ModelProto makeConvRelu(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("unit-test");
  auto *op = m.add_opset_import();
  op->set_version(opset);
  auto &g = *m.mutable_graph();
  g.set_name("g");
  addInput(g, "x", {1, 2, 4, 4});
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.25f * i;
  addFloatInit(g, "w", {3, 2, 3, 3}, w);
  auto *conv = g.add_node();
  conv->set_name("conv1");
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("w");
  conv->add_output("c");
  auto *pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i)
    pads->add_ints(1);
  auto *relu = g.add_node();
  relu->set_name("relu1");
  relu->set_op_type("Relu");
  relu->add_input("c");
  relu->add_output("y");
  auto *out = g.add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m;
}

class ImportExportTest : public ::testing::Test {
protected:
  ImportExportTest() {
    ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      errors += d.str() + "\n";
      return success();
    });
  }
  FailureOr<OwningOpRef<ModuleOp>> import(const onnx::ModelProto &m,
                                          ImportOptions options = {}) {
    options.maxInlineElements = 4;
    return importONNXBuffer(m.SerializeAsString(), "test.onnx", &ctx, options);
  }
  MLIRContext ctx;
  std::string errors;
};

} // namespace

TEST_F(ImportExportTest, ConvReluImportsTypedWithInferredShape) {
  auto module = import(makeConvRelu());
  ASSERT_TRUE(succeeded(module)) << errors;
  ConvOp conv;
  (**module).walk([&](ConvOp op) { conv = op; });
  ASSERT_TRUE(conv);
  EXPECT_EQ(getNodeName(conv), "conv1");
  // pads 1: (4 + 2 - 3) / 1 + 1 = 4.
  auto type = cast<RankedTensorType>(conv.getY().getType());
  EXPECT_EQ(type.getShape(), ArrayRef<int64_t>({1, 3, 4, 4}));
  // The 72-element weight is a resource blob, not a uniqued dense attribute.
  auto weight = conv.getW().getDefiningOp<ConstOp>();
  ASSERT_TRUE(weight);
  EXPECT_TRUE(isa<DenseResourceElementsAttr>(weight.getValue()));
  EXPECT_EQ(getNodeName(weight), "w");
}

TEST_F(ImportExportTest, RoundTripKeepsNamesAttributesAndBytes) {
  onnx::ModelProto original = makeConvRelu();
  auto module = import(original);
  ASSERT_TRUE(succeeded(module)) << errors;
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  ASSERT_TRUE(succeeded(exportONNX(**module, os))) << errors;
  onnx::ModelProto back;
  ASSERT_TRUE(back.ParseFromString(os.str()));
  EXPECT_EQ(back.ir_version(), 7);
  EXPECT_EQ(back.producer_name(), "unit-test");
  ASSERT_EQ(back.opset_import_size(), 1);
  EXPECT_EQ(back.opset_import(0).version(), 13);
  const auto &g = back.graph();
  EXPECT_EQ(g.name(), "g");
  ASSERT_EQ(g.node_size(), 2);
  EXPECT_EQ(g.node(0).name(), "conv1");
  EXPECT_EQ(g.node(0).op_type(), "Conv");
  EXPECT_EQ(g.node(0).input_size(), 2); // the absent bias is not written
  EXPECT_EQ(g.node(0).output(0), "c");
  ASSERT_EQ(g.node(0).attribute_size(), 1);
  EXPECT_EQ(g.node(0).attribute(0).name(), "pads");
  EXPECT_EQ(g.node(0).attribute(0).ints_size(), 4);
  EXPECT_EQ(g.node(1).output(0), "y");
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "y");
  ASSERT_EQ(g.initializer_size(), 1);
  EXPECT_EQ(g.initializer(0).name(), "w");
  EXPECT_EQ(g.initializer(0).raw_data(), original.graph().initializer(0).raw_data());
  // The intermediate tensor keeps its inferred type as value_info.
  ASSERT_EQ(g.value_info_size(), 1);
  EXPECT_EQ(g.value_info(0).name(), "c");
  EXPECT_EQ(g.value_info(0).type().tensor_type().shape().dim(3).dim_value(), 4);
}

TEST_F(ImportExportTest, UnknownOpBecomesGenericNodeAndSurvives) {
  onnx::ModelProto m = makeConvRelu();
  auto *n = m.mutable_graph()->mutable_node(1);
  n->set_op_type("MyRelu");
  n->set_domain("com.example");
  auto *a = n->add_attribute();
  a->set_name("alpha");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(0.5f);
  auto *op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  auto module = import(m);
  ASSERT_TRUE(succeeded(module)) << errors;
  NodeOp node;
  (**module).walk([&](NodeOp op) { node = op; });
  ASSERT_TRUE(node);
  EXPECT_EQ(node.getOpType(), "MyRelu");
  EXPECT_EQ(node.getDomain(), "com.example");
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  ASSERT_TRUE(succeeded(exportONNX(**module, os)));
  onnx::ModelProto back;
  ASSERT_TRUE(back.ParseFromString(os.str()));
  EXPECT_EQ(back.graph().node(1).domain(), "com.example");
  EXPECT_FLOAT_EQ(back.graph().node(1).attribute(0).f(), 0.5f);
}

TEST_F(ImportExportTest, InitializerDimsLargerThanDataIsAnError) {
  onnx::ModelProto m = makeConvRelu();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(1000);
  w->add_dims(1000);
  EXPECT_TRUE(failed(import(m)));
  EXPECT_NE(errors.find("initializer 'w'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("raw_data has 216 bytes"), std::string::npos) << errors;
}

TEST_F(ImportExportTest, HugeClaimedDimsAreRejectedBeforeAllocation) {
  onnx::ModelProto m = makeConvRelu();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(int64_t(1) << 31);
  w->add_dims(int64_t(1) << 31);
  EXPECT_TRUE(failed(import(m)));
  EXPECT_NE(errors.find("more than 2^40 elements"), std::string::npos) << errors;
}

TEST_F(ImportExportTest, UndefinedInputNamesTheNode) {
  onnx::ModelProto m = makeConvRelu();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  EXPECT_TRUE(failed(import(m)));
  EXPECT_NE(errors.find("node 'relu1' (Relu): input 'nowhere'"), std::string::npos)
      << errors;
}

TEST_F(ImportExportTest, CycleIsReported) {
  onnx::ModelProto m = makeConvRelu();
  // conv1 now reads relu1's output: conv1 -> relu1 -> conv1.
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");
  EXPECT_TRUE(failed(import(m)));
  EXPECT_NE(errors.find("cycle"), std::string::npos) << errors;
}

TEST_F(ImportExportTest, UnsortedGraphIsSorted) {
  onnx::ModelProto m = makeConvRelu();
  m.mutable_graph()->mutable_node()->SwapElements(0, 1);
  auto module = import(m);
  ASSERT_TRUE(succeeded(module)) << errors;
}

TEST_F(ImportExportTest, WrongAttributeTypeIsAVerifierError) {
  onnx::ModelProto m = makeConvRelu();
  auto *a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("group");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1.0f);
  EXPECT_TRUE(failed(import(m)));
  EXPECT_NE(errors.find("node 'conv1'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("group"), std::string::npos) << errors;
}

TEST_F(ImportExportTest, OpsetNewerThanSupported) {
  EXPECT_TRUE(failed(import(makeConvRelu(99))));
  EXPECT_NE(errors.find("opset 99 is not supported"), std::string::npos) << errors;
}

TEST_F(ImportExportTest, GarbageIsNotAModel) {
  EXPECT_TRUE(failed(importONNXBuffer("\xff\xff\xff\xff garbage", "bad.onnx", &ctx)));
  EXPECT_NE(errors.find("bad.onnx: not a valid ONNX model"), std::string::npos) << errors;
  errors.clear();
  EXPECT_TRUE(failed(importONNXBuffer("", "empty.onnx", &ctx)));
  EXPECT_NE(errors.find("empty.onnx: not an ONNX model: no graph"), std::string::npos)
      << errors;
}
