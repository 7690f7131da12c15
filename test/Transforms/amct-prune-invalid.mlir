// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-prune{method=3:8}))' 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-prune{ratio=1.0}))' 2>&1 | FileCheck %s --check-prefix=RATIO
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-prune{ratio=0.5 align=0}))' 2>&1 | FileCheck %s --check-prefix=ALIGN

// METHOD: error: --amct-prune: unknown method '3:8' (expected channel or 2:4)
// RATIO: error: --amct-prune: ratio 1.000000e+00 is outside (0, 1)
// ALIGN: error: --amct-prune: align must be at least 1
func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  return %x : tensor<1x4xf32>
}
