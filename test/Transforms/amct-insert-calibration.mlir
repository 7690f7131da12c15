// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-insert-calibration))' | FileCheck %s
// RUN: amct-opt --strip-names %S/Inputs/insert-calibration-config.mlir --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/calibration-config.json}))' | FileCheck %s --check-prefix=JSON
// RUN: amct-opt --strip-names %S/Inputs/insert-calibration-config.mlir --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/calibration-simple.cfg}))' | FileCheck %s --check-prefix=CFG

// Without a config every quantizable layer gets an observer on its data
// input with AMCT's defaults (`amct create-config`): IFMR activations,
// activation_offset true (asymmetric), ARQ weights channel-wise for
// convolutions and per tensor for Linear and AvgPool2d. Conv3d is always
// symmetric on Ascend.
// CHECK-LABEL: func.func @quantizable_layers
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x2x4x4xf32>, %[[X3:[^:]*]]: tensor<1x2x2x4x4xf32>, %[[A:[^:]*]]: tensor<3x4xf32>)
// CHECK: %[[O1:.*]] = amct.observer %[[X]] {layer = "conv1", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.99999899999999997, min_percentile = 0.99999899999999997, search_range_start = 0.69999999999999996, search_range_end = 1.300000e+00, search_step = 1.000000e-02>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
// CHECK-NEXT: amct.Conv %[[O1]], %{{.*}}, %{{.*}} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>)
// CHECK: %[[O2:.*]] = amct.observer %[[X3]] {layer = "conv3d", method = #amct.ifmr<num_bits = 8, asymmetric = false, {{.*}}weights = #amct.arq<num_bits = 8, channel_wise = true>}
// CHECK-NEXT: amct.Conv %[[O2]], %{{.*}}, %{{.*}} : (tensor<1x2x2x4x4xf32>
// CHECK: %[[O3:.*]] = amct.observer %[[X]] {layer = "deconv", method = #amct.ifmr<num_bits = 8, asymmetric = true, {{.*}}weights = #amct.arq<num_bits = 8, channel_wise = true>}
// CHECK-NEXT: amct.ConvTranspose %[[O3]], %{{.*}}, %{{.*}} :
// CHECK: %[[O4:.*]] = amct.observer %[[A]] {layer = "fc", method = #amct.ifmr<num_bits = 8, asymmetric = true, {{.*}}weights = #amct.arq<num_bits = 8, channel_wise = false>}
// CHECK-NEXT: amct.Gemm %[[O4]], %{{.*}}, %{{.*}} {transB = 1 : i64}
// CHECK: %[[O5:.*]] = amct.observer %[[A]] {layer = "mm", method = #amct.ifmr<num_bits = 8, asymmetric = true, {{.*}}weights = #amct.arq<num_bits = 8, channel_wise = false>}
// CHECK-NEXT: amct.MatMul %[[O5]], %{{.*}} :
// CHECK: %[[O6:.*]] = amct.observer %[[X]] {layer = "pool", method = #amct.ifmr<num_bits = 8, asymmetric = true, {{[^}]*}}>} : tensor<1x2x4x4xf32>
// CHECK-NEXT: amct.AveragePool %[[O6]] {kernel_shape
// CHECK-NOT: amct.observer
func.func @quantizable_layers(%x: tensor<1x2x4x4xf32>, %x3: tensor<1x2x2x4x4xf32>, %a: tensor<3x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x2x2xf32>) {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %b = amct.const dense<0.1> : tensor<2xf32>
  %c = amct.Conv %x, %w, %b : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %w3 = amct.const dense<0.5> : tensor<2x2x1x1x1xf32>
  %c3 = amct.Conv %x3, %w3, %n : (tensor<1x2x2x4x4xf32>, tensor<2x2x1x1x1xf32>, none) -> tensor<1x2x2x4x4xf32> loc("conv3d")
  %wt = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %ct = amct.ConvTranspose %x, %wt, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("deconv")
  %wg = amct.const dense<0.5> : tensor<2x4xf32>
  %g = amct.Gemm %a, %wg, %n {transB = 1 : i64} : (tensor<3x4xf32>, tensor<2x4xf32>, none) -> tensor<3x2xf32> loc("fc")
  %wm = amct.const dense<0.5> : tensor<4x2xf32>
  %m = amct.MatMul %a, %wm : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("mm")
  %p = amct.AveragePool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> loc("pool")
  return %c, %c3, %ct, %g, %m, %p : tensor<1x2x4x4xf32>, tensor<1x2x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x2x2xf32>
}

// -----

// Not quantizable: Conv1d. Each function below also has one quantizable
// conv ("good"): without any the default config is an error.
// CHECK-LABEL: func.func @conv1d
// CHECK-NOT: amct.observer
// CHECK: amct.Conv %arg0, %{{.*}}, %{{.*}} : (tensor<1x2x4xf32>
// CHECK: amct.observer %arg1 {{.*}}layer = "good"
// CHECK-NOT: amct.observer
func.func @conv1d(%x: tensor<1x2x4xf32>, %y: tensor<1x2x4x4xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<0.5> : tensor<2x2x1xf32>
  %c1 = amct.Conv %x, %w1, %n : (tensor<1x2x4xf32>, tensor<2x2x1xf32>, none) -> tensor<1x2x4xf32> loc("conv1d")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %y, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  return %c1, %c : tensor<1x2x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Not quantizable: MatMul of two activations.
// CHECK-LABEL: func.func @matmul_activations
// CHECK-NOT: amct.observer
// CHECK: amct.MatMul %arg0, %arg1 :
// CHECK: amct.observer %arg2 {{.*}}layer = "good"
// CHECK-NOT: amct.observer
func.func @matmul_activations(%a: tensor<3x4xf32>, %b: tensor<4x2xf32>, %y: tensor<1x2x4x4xf32>) -> (tensor<3x2xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %m = amct.MatMul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("mm_act")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %y, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  return %m, %c : tensor<3x2xf32>, tensor<1x2x4x4xf32>
}

// -----

// Not quantizable: the weight is a graph input, not a constant.
// CHECK-LABEL: func.func @weight_argument
// CHECK-NOT: amct.observer
// CHECK: amct.Conv %arg0, %arg1, %{{.*}} :
// CHECK: amct.observer %arg0 {{.*}}layer = "good"
// CHECK-NOT: amct.observer
func.func @weight_argument(%x: tensor<1x2x4x4xf32>, %wa: tensor<2x2x1x1xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %c1 = amct.Conv %x, %wa, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_wa")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  return %c1, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Not quantizable: two layers sharing one weight constant (AMCT does not
// quantize shared weights), neither of them.
// CHECK-LABEL: func.func @shared_weight
// CHECK: %[[WS:.*]] = amct.const
// CHECK-NOT: amct.observer
// CHECK: amct.Conv %arg0, %[[WS]], %{{.*}} :
// CHECK-NOT: amct.observer
// CHECK: amct.Conv %arg0, %[[WS]], %{{.*}} :
// CHECK: amct.observer %arg0 {{.*}}layer = "good"
// CHECK-NOT: amct.observer
func.func @shared_weight(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %ws = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c1 = amct.Conv %x, %ws, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("shared1")
  %c2 = amct.Conv %x, %ws, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("shared2")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  return %c1, %c2, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Not quantizable: a conv without a node name (config and record keys are
// node names).
// CHECK-LABEL: func.func @unnamed_conv
// CHECK-NOT: amct.observer
// CHECK: %[[C1:.*]] = amct.Conv %arg0, %{{.*}}, %{{.*}} :
// CHECK: amct.observer %arg0 {{.*}}layer = "good"
// CHECK-NOT: amct.observer
// CHECK: return %[[C1]],
func.func @unnamed_conv(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c1 = amct.Conv %x, %w1, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  return %c1, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// JSON config (Inputs/calibration-config.json): conv1 has quant_enable
// false, conv3 has no entry (not quantized, as in AMCT), conv2 uses HFMG
// with 2048 bins, symmetric and per-tensor weights, fc IFMR with its own
// percentiles and search range (asymmetric from activation_offset).
// JSON-LABEL: func.func @configured
// JSON-SAME: (%[[X:[^:]*]]: tensor<1x2x4x4xf32>, %[[A:[^:]*]]: tensor<3x4xf32>)
// JSON-NOT: amct.observer
// JSON: amct.Conv %[[X]], %{{.*}}, %{{.*}} :
// JSON-NEXT: amct.const
// JSON-NEXT: %[[O2:.*]] = amct.observer %[[X]] {layer = "conv2", method = #amct.hfmg<num_bits = 8, asymmetric = false, num_of_bins = 2048>, weights = #amct.arq<num_bits = 8, channel_wise = false>} : tensor<1x2x4x4xf32>
// JSON-NEXT: amct.Conv %[[O2]], %{{.*}}, %{{.*}} :
// JSON-NOT: amct.observer
// JSON: amct.Conv %[[X]], %{{.*}}, %{{.*}} :
// JSON-NEXT: amct.const
// JSON-NEXT: %[[O4:.*]] = amct.observer %[[A]] {layer = "fc", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 9.999000e-01, min_percentile = 0.99899999999999999, search_range_start = 8.000000e-01, search_range_end = 1.250000e+00, search_step = 5.000000e-02>, weights = #amct.arq<num_bits = 8, channel_wise = false>} : tensor<3x4xf32>
// JSON-NEXT: amct.Gemm %[[O4]], %{{.*}}, %{{.*}} :
// JSON-NOT: amct.observer

// Simple config (Inputs/calibration-simple.cfg): skip_layers "conv1";
// activation_offset false; Linear layers use HFMG with 1024 bins, the other
// layers the common (default IFMR) config.
// CFG-LABEL: func.func @configured
// CFG-SAME: (%[[X:[^:]*]]: tensor<1x2x4x4xf32>, %[[A:[^:]*]]: tensor<3x4xf32>)
// CFG-NOT: amct.observer
// CFG: amct.Conv %[[X]], %{{.*}}, %{{.*}} :
// CFG-NEXT: amct.const
// CFG-NEXT: %[[O2:.*]] = amct.observer %[[X]] {layer = "conv2", method = #amct.ifmr<num_bits = 8, asymmetric = false, max_percentile = 0.99999899999999997, min_percentile = 0.99999899999999997, search_range_start = 0.69999999999999996, search_range_end = 1.300000e+00, search_step = 1.000000e-02>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
// CFG-NEXT: amct.Conv %[[O2]], %{{.*}}, %{{.*}} :
// CFG-NEXT: amct.const
// CFG-NEXT: %[[O3:.*]] = amct.observer %[[X]] {layer = "conv3", method = #amct.ifmr<num_bits = 8, asymmetric = false, {{.*}}weights = #amct.arq<num_bits = 8, channel_wise = true>}
// CFG-NEXT: amct.Conv %[[O3]], %{{.*}}, %{{.*}} :
// CFG-NEXT: amct.const
// CFG-NEXT: %[[O4:.*]] = amct.observer %[[A]] {layer = "fc", method = #amct.hfmg<num_bits = 8, asymmetric = false, num_of_bins = 1024>, weights = #amct.arq<num_bits = 8, channel_wise = false>} : tensor<3x4xf32>
// CFG-NEXT: amct.Gemm %[[O4]], %{{.*}}, %{{.*}} :
// CFG-NOT: amct.observer

// -----

// A layer inside a subgraph (an If branch) stays float: an observer there
// would see a value per branch taken, not one per batch.
// CHECK-LABEL: func.func @layer_in_subgraph
// CHECK: amct.observer %arg1 {{.*}}layer = "good"
// CHECK: amct.node "If"
// CHECK-NOT: amct.observer
// CHECK: amct.Conv %arg1, %{{.*}} : (tensor<1x2x4x4xf32>
func.func @layer_in_subgraph(%c: tensor<i1>, %y: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %g = amct.Conv %y, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("good")
  %r = amct.node "If"(%c) {} graphs {
    %w2 = amct.const dense<0.25> : tensor<2x2x1x1xf32>
    %b = amct.Conv %y, %w2, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("in_branch")
    amct.yield %b : tensor<1x2x4x4xf32>
  }, {
    amct.yield %y : tensor<1x2x4x4xf32>
  } attributes {subgraphs = ["then_branch", "else_branch"]} : (tensor<i1>) -> tensor<1x2x4x4xf32>
  return %g, %r : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
