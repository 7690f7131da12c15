// RUN: amct-opt %s | amct-opt --strip-names | FileCheck %s
// Typed ops, the generic node with a subgraph, and the structural ops print
// and parse back unchanged.

// CHECK-LABEL: func.func @cnn
func.func @cnn(%x: tensor<?x3x32x32xf32>) -> tensor<?x10xf32> {
  %none = amct.none
  %w = amct.const dense<1.0> : tensor<8x3x3x3xf32>
  %b = amct.const dense<0.5> : tensor<8xf32>
  // CHECK: amct.Conv %{{.*}}, %{{.*}}, %{{.*}} {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  // CHECK-SAME: -> tensor<?x8x16x16xf32>
  %c = amct.Conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<?x3x32x32xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<?x8x16x16xf32>
  %s = amct.const dense<1.0> : tensor<8xf32>
  %bn = amct.BatchNormalization %c, %s, %b, %b, %s {epsilon = 1.0e-3 : f32} : (tensor<?x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8x16x16xf32>
  %r = amct.Relu %bn : (tensor<?x8x16x16xf32>) -> tensor<?x8x16x16xf32>
  // CHECK: amct.MaxPool %{{.*}} {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>}
  %p = amct.MaxPool %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<?x8x16x16xf32>) -> tensor<?x8x8x8xf32>
  %g = amct.GlobalAveragePool %p : (tensor<?x8x8x8xf32>) -> tensor<?x8x1x1xf32>
  %f = amct.Flatten %g : (tensor<?x8x1x1xf32>) -> tensor<?x8xf32>
  %fw = amct.const dense<0.1> : tensor<10x8xf32>
  // CHECK: amct.Gemm %{{.*}}, %{{.*}}, %{{.*}} {transB = 1 : i64}
  %y = amct.Gemm %f, %fw, %none {transB = 1 : i64} : (tensor<?x8xf32>, tensor<10x8xf32>, none) -> tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}

// CHECK-LABEL: func.func @generic
func.func @generic(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: amct.node "If"(%{{.*}}) {} graphs {
  // CHECK: amct.yield %{{.*}} : tensor<4xf32>
  // CHECK: }, {
  // CHECK: } attributes {subgraphs = ["then_branch", "else_branch"]} : (tensor<i1>) -> tensor<4xf32>
  %r = amct.node "If"(%c) {} graphs {
    %a = amct.Relu %x : (tensor<4xf32>) -> tensor<4xf32>
    amct.yield %a : tensor<4xf32>
  }, {
    amct.yield %x : tensor<4xf32>
  } attributes {subgraphs = ["then_branch", "else_branch"]} : (tensor<i1>) -> tensor<4xf32>
  // CHECK: amct.node "MyOp" domain "com.example"(%{{.*}}) {alpha = 5.000000e-01 : f32, raw = #amct.raw_onnx<"\0A\01x">}
  %m = amct.node "MyOp" domain "com.example"(%r) {alpha = 0.5 : f32, raw = #amct.raw_onnx<"\0A\01x">} : (tensor<4xf32>) -> tensor<4xf32>
  return %m : tensor<4xf32>
}

// CHECK-LABEL: func.func @types
// CHECK-SAME: !amct.seq<tensor<?xf32>>, %{{.*}}: !amct.opt<tensor<2xi64>>, %{{.*}}: tensor<3x!amct.string>
func.func @types(%s: !amct.seq<tensor<?xf32>>, %o: !amct.opt<tensor<2xi64>>, %t: tensor<3x!amct.string>) -> !amct.unknown {
  %u = amct.node "SequenceLength"(%s) {} : (!amct.seq<tensor<?xf32>>) -> !amct.unknown
  return %u : !amct.unknown
}

// ONNX's QDQ ops: the output type of QuantizeLinear is the zero point's
// (uint8 without one); DequantizeLinear gives the scale's float type and
// takes int8, uint8 or int32 (a QDQ model's bias).
// CHECK-LABEL: func.func @qdq
func.func @qdq(%x: tensor<2x3xf32>, %s: tensor<f32>, %zp: tensor<i8>, %sc: tensor<3xf32>, %b: tensor<3xi32>) -> (tensor<2x3xf32>, tensor<2x3xui8>, tensor<3xf32>) {
  %none = amct.none
  // CHECK: amct.QuantizeLinear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3xi8>
  %q = amct.QuantizeLinear %x, %s, %zp : (tensor<2x3xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3xi8>
  // CHECK: amct.DequantizeLinear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xi8>, tensor<f32>, tensor<i8>) -> tensor<2x3xf32>
  %d = amct.DequantizeLinear %q, %s, %zp : (tensor<2x3xi8>, tensor<f32>, tensor<i8>) -> tensor<2x3xf32>
  // CHECK: amct.QuantizeLinear %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>, none) -> tensor<2x3xui8>
  %u = amct.QuantizeLinear %x, %sc, %none {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>, none) -> tensor<2x3xui8>
  // CHECK: amct.DequantizeLinear %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<3xi32>, tensor<3xf32>, none) -> tensor<3xf32>
  %bf = amct.DequantizeLinear %b, %sc, %none {axis = 0 : i64} : (tensor<3xi32>, tensor<3xf32>, none) -> tensor<3xf32>
  return %d, %u, %bf : tensor<2x3xf32>, tensor<2x3xui8>, tensor<3xf32>
}

// float8 QDQ (opset 19) is valid ONNX: it verifies (the executor has no
// kernel for it).
// CHECK-LABEL: func.func @qdq_float8
// CHECK: amct.QuantizeLinear {{.*}} -> tensor<2xf8E4M3FN>
// CHECK: amct.DequantizeLinear {{.*}} -> tensor<2xf32>
func.func @qdq_float8(%x: tensor<2xf32>, %s: tensor<f32>, %zp: tensor<f8E4M3FN>) -> tensor<2xf32> {
  %q = amct.QuantizeLinear %x, %s, %zp : (tensor<2xf32>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<2xf8E4M3FN>
  %d = amct.DequantizeLinear %q, %s, %zp : (tensor<2xf8E4M3FN>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<2xf32>
  return %d : tensor<2xf32>
}

// CHECK-LABEL: func.func @dequantize_weight
// CHECK: amct.dequantize_weight %{{.*}}, %{{.*}}, %{{.*}} {group_size = 32 : i64, num_bits = 4 : i64} : (tensor<96x16xi8>, tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<96x16xf32>
// CHECK: amct.dequantize_weight %{{.*}}, %{{.*}}, %{{.*}} {num_bits = 8 : i64} : (tensor<96x16xi8>, tensor<1x1xf32>, none) -> tensor<96x16xf32>
func.func @dequantize_weight(%q: tensor<96x16xi8>, %s: tensor<3x16xf32>, %o: tensor<3x16xf32>, %t: tensor<1x1xf32>, %n: none) -> (tensor<96x16xf32>, tensor<96x16xf32>) {
  %a = amct.dequantize_weight %q, %s, %o {num_bits = 4 : i64, group_size = 32 : i64} : (tensor<96x16xi8>, tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<96x16xf32>
  %b = amct.dequantize_weight %q, %t, %n {num_bits = 8 : i64} : (tensor<96x16xi8>, tensor<1x1xf32>, none) -> tensor<96x16xf32>
  return %a, %b : tensor<96x16xf32>, tensor<96x16xf32>
}

// CHECK-LABEL: func.func @per_token
// CHECK: amct.fake_quant_per_token %{{.*}} : tensor<2x5x8xf32>
// CHECK: amct.fake_quant_per_token %{{.*}} {asymmetric = true} : tensor<2x5x8xf32>
func.func @per_token(%x: tensor<2x5x8xf32>) -> (tensor<2x5x8xf32>, tensor<2x5x8xf32>) {
  %a = amct.fake_quant_per_token %x : tensor<2x5x8xf32>
  %b = amct.fake_quant_per_token %x {asymmetric = true} : tensor<2x5x8xf32>
  return %a, %b : tensor<2x5x8xf32>, tensor<2x5x8xf32>
}
