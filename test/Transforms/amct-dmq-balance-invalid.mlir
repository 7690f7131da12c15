// RUN: %expect_exit 1 amct-opt %s -split-input-file -verify-diagnostics --pass-pipeline='builtin.module(func.func(amct-dmq-balance{record=%S/Inputs/dmq-record.txt}))'
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-dmq-balance{record=%S/Inputs/no-such-record.txt}))' 2>&1 | FileCheck %s --check-prefix=UNREADABLE
// UNREADABLE: error: {{.*}}no-such-record.txt: cannot

// conv2's record has 2 factors; this conv2 has 3 input channels.
func.func @count_mismatch(%x: tensor<1x3x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<1.0> : tensor<1x3x1x1xf32> loc("w")
  // expected-error @+1 {{layer 'conv2': tensor_balance_factor has 2 values, expected one per input channel (3)}}
  %c = amct.Conv %x, %w, %n : (tensor<1x3x4x4xf32>, tensor<1x3x1x1xf32>, none) -> tensor<1x1x4x4xf32> loc("conv2")
  return %c : tensor<1x1x4x4xf32>
}

// -----

// fc's record has 3 factors; this Gemm (transB) has K = 2.
func.func @gemm_mismatch(%a: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %n = amct.none
  %w = amct.const dense<1.0> : tensor<4x2xf32> loc("w")
  // expected-error @+1 {{layer 'fc': tensor_balance_factor has 3 values, expected one per input channel (2)}}
  %g = amct.Gemm %a, %w, %n {transB = 1 : i64} : (tensor<3x2xf32>, tensor<4x2xf32>, none) -> tensor<3x4xf32> loc("fc")
  return %g : tensor<3x4xf32>
}
