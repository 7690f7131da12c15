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
