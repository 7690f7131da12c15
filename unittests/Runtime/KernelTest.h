//===- KernelTest.h - fixture of the executor kernel tests ------*- C++ -*-===//
//
// Each test writes a tiny `func.func @main` of amct / ascend ops as MLIR
// text, runs it with the public Executor and compares the results with
// values computed by hand or by a naive reference loop in the test itself
// (never by the kernels under test). Operands are graph inputs, so one
// function serves any data; the declared result types are the hand-computed
// shapes, which the ops' verifiers check against shape inference as a bonus.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_UNITTESTS_RUNTIME_KERNELTEST_H
#define AMCT_UNITTESTS_RUNTIME_KERNELTEST_H

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Runtime/Executor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace amct::rt::test {

template <typename T> constexpr DType dtypeOf() {
  if constexpr (std::is_same_v<T, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<T, double>)
    return DType::F64;
  else if constexpr (std::is_same_v<T, int8_t>)
    return DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return DType::U8;
  else if constexpr (std::is_same_v<T, int32_t>)
    return DType::I32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DType::I64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return DType::U64;
  else
    static_assert(sizeof(T) == 0, "unsupported element type");
}

inline const char *mlirElementType(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::F64:
    return "f64";
  case DType::I8:
    return "i8";
  case DType::U8:
    return "ui8";
  case DType::I16:
    return "i16";
  case DType::U16:
    return "ui16";
  case DType::I32:
    return "i32";
  case DType::U32:
    return "ui32";
  case DType::I64:
    return "i64";
  case DType::U64:
    return "ui64";
  case DType::Bool:
    return "i1";
  case DType::BF16:
    return "bf16";
  }
  return "?";
}

/// "tensor<2x3xf32>", "tensor<f32>" for rank 0.
inline std::string tensorType(const Shape &shape, DType dtype) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + mlirElementType(dtype) + ">";
}
inline std::string tensorType(const Tensor &t) { return tensorType(t.shape(), t.dtype()); }
inline std::string f32Type(const Shape &shape) { return tensorType(shape, DType::F32); }

inline int64_t numel(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// A tensor of `shape` holding `values` (row-major).
template <typename T> Tensor make(const Shape &shape, const std::vector<T> &values) {
  std::optional<Tensor> t = Tensor::zeros(dtypeOf<T>(), shape);
  EXPECT_TRUE(t.has_value());
  EXPECT_EQ((int64_t)values.size(), t->numElements()) << "test data of the wrong size";
  std::memcpy(t->mutableRaw(), values.data(),
              std::min<size_t>(values.size(), t->numElements()) * sizeof(T));
  return *t;
}
inline Tensor f32(const Shape &shape, const std::vector<float> &values) {
  return make<float>(shape, values);
}
inline Tensor i64(const Shape &shape, const std::vector<int64_t> &values) {
  return make<int64_t>(shape, values);
}

/// An i64 array attribute in MLIR syntax: "array<i64: 1, 2>".
inline std::string ints(std::initializer_list<int64_t> v) {
  std::string s = "array<i64";
  for (auto [i, x] : llvm::enumerate(v))
    s += (i ? ", " : ": ") + std::to_string(x);
  return s + ">";
}

/// 0, 1, 2, ... as floats.
inline std::vector<float> iota(int64_t n, float start = 0.0f) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = start + i;
  return v;
}

/// Deterministic small integers in [lo, hi] as floats: every product and sum
/// a test makes of them is exact in float, so results compare exactly no
/// matter how a kernel orders its additions.
inline std::vector<float> smallInts(int64_t n, uint64_t seed, int lo = -4, int hi = 4) {
  std::vector<float> v(n);
  uint64_t state = seed * 2654435761u + 1;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v[i] = static_cast<float>(lo + (int64_t)((state >> 33) % (uint64_t)(hi - lo + 1)));
  }
  return v;
}

template <typename T> std::vector<T> valuesOf(const Tensor &t) {
  if (t.dtype() != dtypeOf<T>() || !t.valid())
    return {};
  const T *p = t.data<T>();
  return std::vector<T>(p, p + t.numElements());
}

/// Shape, dtype and every element of `t` against the expectation; elements
/// within `tol` (absolute) count as equal, NaN matches NaN.
template <typename T>
::testing::AssertionResult matches(const Tensor &t, const Shape &shape, const std::vector<T> &want,
                                   double tol = 0.0) {
  if (!t.valid() && numel(shape) != 0)
    return ::testing::AssertionFailure() << "no result";
  if (t.dtype() != dtypeOf<T>())
    return ::testing::AssertionFailure()
           << "dtype is " << dtypeName(t.dtype()) << ", expected " << dtypeName(dtypeOf<T>());
  if (t.shape() != shape)
    return ::testing::AssertionFailure()
           << "shape is " << formatShape(t.shape()) << ", expected " << formatShape(shape);
  if ((int64_t)want.size() != t.numElements())
    return ::testing::AssertionFailure() << "test expects " << want.size() << " values";
  const T *got = t.data<T>();
  int bad = 0;
  ::testing::AssertionResult result = ::testing::AssertionFailure();
  for (int64_t i = 0; i < t.numElements(); ++i) {
    double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    bool same = (std::isnan(g) && std::isnan(w)) || g == w || std::fabs(g - w) <= tol;
    if (!same && bad++ < 8)
      result << "\n  [" << i << "] is " << g << ", expected " << w;
  }
  if (!bad)
    return ::testing::AssertionSuccess();
  return result << "\n  " << bad << " of " << t.numElements() << " elements differ";
}

/// An operand of a one-op function: a graph input, or absent (amct.none).
using Operand = std::optional<Tensor>;
inline constexpr std::nullopt_t kNone = std::nullopt;

class KernelTest : public ::testing::Test {
protected:
  KernelTest() { ctx.loadDialect<AmctDialect, ascend::AscendDialect, mlir::func::FuncDialect>(); }

  /// Parses `src` (a module whose first func is @main) and runs it on
  /// `inputs` with one thread. Parse, verification, executor and kernel
  /// errors fail and leave their messages in `diagnostics`.
  mlir::FailureOr<std::vector<Tensor>> runFunc(llvm::StringRef src,
                                               const std::vector<Tensor> &inputs) {
    diagnostics.clear();
    mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    module = mlir::parseSourceString<mlir::ModuleOp>(src, &ctx);
    if (!module)
      return mlir::failure();
    auto main = module->lookupSymbol<mlir::func::FuncOp>("main");
    if (!main) {
      diagnostics += "no @main\n";
      return mlir::failure();
    }
    ExecutorOptions options;
    options.threads = 1;
    auto exec = Executor::create(main, options);
    if (failed(exec))
      return mlir::failure();
    return (*exec)->run(inputs);
  }

  /// Builds and runs
  ///   func.func @main(%a0: T0, ...) -> (R...) {
  ///     %r = OP %a0, %none, ... {ATTRS} : (T0, none, ...) -> (R...)
  ///     return %r...
  ///   }
  /// in the generic typed-op syntax. Absent operands become amct.none.
  mlir::FailureOr<std::vector<Tensor>> runOp(llvm::StringRef op,
                                             const std::vector<Operand> &operands,
                                             llvm::StringRef attrs,
                                             const std::vector<std::string> &resultTypes) {
    std::string args, uses, types, results, returns;
    std::vector<Tensor> inputs;
    bool needNone = false;
    for (const Operand &o : operands) {
      std::string sep = uses.empty() ? "" : ", ";
      if (!o) {
        needNone = true;
        uses += sep + "%none";
        types += sep + "none";
        continue;
      }
      std::string name = "%a" + std::to_string(inputs.size());
      args += (args.empty() ? "" : ", ") + name + ": " + tensorType(*o);
      uses += sep + name;
      types += sep + tensorType(*o);
      inputs.push_back(*o);
    }
    for (size_t i = 0; i < resultTypes.size(); ++i) {
      results += (i ? ", " : "") + resultTypes[i];
      returns += (i ? ", " : "") +
                 (resultTypes.size() == 1 ? std::string("%r") : "%r#" + std::to_string(i));
    }
    std::string lhs = resultTypes.size() == 1 ? "%r" : "%r:" + std::to_string(resultTypes.size());
    std::string src = "func.func @main(" + args + ") -> (" + results + ") {\n";
    if (needNone)
      src += "  %none = amct.none\n";
    src += "  " + lhs + " = " + op.str() + " " + uses + " " +
           (attrs.empty() ? "" : "{" + attrs.str() + "} ") + ": (" + types + ") -> (" + results +
           ")\n  return " + returns + " : " + results + "\n}\n";
    lastSource = src;
    return runFunc(src, inputs);
  }

  /// runOp for a single-result op that must succeed; an empty tensor (which
  /// no expectation matches) otherwise.
  Tensor runOne(llvm::StringRef op, const std::vector<Operand> &operands, llvm::StringRef attrs,
                const std::string &resultType) {
    mlir::FailureOr<std::vector<Tensor>> r = runOp(op, operands, attrs, {resultType});
    if (failed(r) || r->size() != 1) {
      ADD_FAILURE() << "running failed:\n" << diagnostics << "source:\n" << lastSource;
      return Tensor();
    }
    return r->front();
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string diagnostics;
  std::string lastSource;
};

} // namespace amct::rt::test

#endif // AMCT_UNITTESTS_RUNTIME_KERNELTEST_H
