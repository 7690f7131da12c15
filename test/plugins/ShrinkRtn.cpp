//===- ShrinkRtn.cpp - a user weight algorithm, as a plugin ---------------===//
//
// Test plugin for `amct quantize --plugin`: registers
//   shrink_rtn {ratio in (0, 1], default 0.9}: round to nearest with each
//     parameter set's range shrunk by `ratio` (symmetric);
//   needs_rows_rtn: the same with ratio 1, asking for the calibration
//     inputs and failing without them (the input path);
//   fixed_scale_act {scale > 0, default 0.05}: an activation algorithm
//     giving W8A8's per-tensor inputs that scale (offset 0), after checking
//     it was handed rows of K values.
// Built with these headers only (the registry is reached through a virtual
// call), as a user's plugin would be.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/AlgorithmRegistry.h"

#include <algorithm>
#include <cmath>

namespace {

bool shrinkRtn(const amct::WeightAlgorithmInput &in, double ratio, amct::WeightAlgorithmOutput &out,
               std::string &error) {
  if (!in.symmetric) {
    error = "shrink_rtn quantizes symmetrically only";
    return false;
  }
  int64_t g = in.groupSize > 0 ? in.groupSize : in.k; // rows per set
  int64_t groups = in.groupSize > 0 ? (in.k + g - 1) / g : 1;
  bool tensor = in.groupSize < 0;
  float qmax = float((1 << (in.bits - 1)) - 1);
  std::vector<float> absmax(tensor ? 1 : groups * in.n, 0.0f);
  for (int64_t r = 0; r < in.k; ++r)
    for (int64_t c = 0; c < in.n; ++c) {
      float &m = absmax[tensor ? 0 : (r / g) * in.n + c];
      m = std::max(m, std::fabs(in.weight[r * in.n + c]));
    }
  out.scale.resize(absmax.size());
  for (size_t i = 0; i < absmax.size(); ++i)
    out.scale[i] = absmax[i] > 0 ? float(absmax[i] * ratio / qmax) : 1.0f;
  out.q.resize(in.k * in.n);
  for (int64_t r = 0; r < in.k; ++r)
    for (int64_t c = 0; c < in.n; ++c) {
      float s = out.scale[tensor ? 0 : (r / g) * in.n + c];
      float v = std::nearbyint(in.weight[r * in.n + c] / s);
      out.q[r * in.n + c] = int8_t(std::clamp(v, -qmax - 1, qmax));
    }
  return true;
}

} // namespace

extern "C" bool amct_register_algorithms(amct::AlgorithmRegistry &registry, std::string &error) {
  amct::WeightAlgorithm shrink;
  shrink.name = "shrink_rtn";
  amct::AlgorithmParam ratio;
  ratio.name = "ratio";
  ratio.min = 0;
  ratio.minExclusive = true;
  ratio.max = 1;
  ratio.defaultValue = 0.9;
  shrink.params = {ratio};
  shrink.run = [](const amct::WeightAlgorithmInput &in, amct::WeightAlgorithmOutput &out,
                  std::string &error) {
    return shrinkRtn(in, in.params->at("ratio"), out, error);
  };
  if (!registry.addWeightAlgorithm(shrink, error))
    return false;
  amct::WeightAlgorithm rows;
  rows.name = "needs_rows_rtn";
  rows.needsInputs = true;
  rows.run = [](const amct::WeightAlgorithmInput &in, amct::WeightAlgorithmOutput &out,
                std::string &error) {
    if (!in.inputs || in.rows < 1) {
      error = "no calibration rows for layer " + in.layer;
      return false;
    }
    return shrinkRtn(in, 1.0, out, error);
  };
  if (!registry.addWeightAlgorithm(rows, error))
    return false;
  amct::ActivationAlgorithm fixed;
  fixed.name = "fixed_scale_act";
  amct::AlgorithmParam scale;
  scale.name = "scale";
  scale.min = 0;
  scale.minExclusive = true;
  scale.defaultValue = 0.05;
  fixed.params = {scale};
  fixed.run = [](const amct::ActivationAlgorithmInput &in, amct::ActivationAlgorithmOutput &out,
                 std::string &error) {
    if (!in.values || in.rows < 1 || in.k < 1) {
      error = "no calibration values for layer " + in.layer;
      return false;
    }
    out.scale = float(in.params->at("scale"));
    out.offset = 0;
    return true;
  };
  return registry.addActivationAlgorithm(fixed, error);
}
