// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-decompose))' 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-decompose{energy=0.9 ratio=0.5}))' 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-decompose{ratio=1.5}))' 2>&1 | FileCheck %s --check-prefix=RANGE

// NONE: error: --amct-decompose: give energy in (0, 1] or ratio in (0, 1)
// RANGE: error: --amct-decompose: energy must be in (0, 1], ratio in (0, 1)
func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  return %x : tensor<1x4xf32>
}
