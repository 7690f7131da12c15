//===- BadPlugins.cpp - plugins that must be refused ---------------------===//
//
// Built three times (AMCT_BAD_PLUGIN = 1, 2, 3): a plugin registering a
// name that is taken (gptq), one whose registration reports a failure, and
// one whose algorithm returns integers out of range (checked by amct).
//
//===----------------------------------------------------------------------===//

#include "amct/Support/AlgorithmRegistry.h"

extern "C" bool amct_register_algorithms(amct::AlgorithmRegistry &registry, std::string &error) {
  amct::WeightAlgorithm a;
#if AMCT_BAD_PLUGIN == 1
  a.name = "gptq";
#elif AMCT_BAD_PLUGIN == 2
  error = "this plugin needs a licence file";
  return false;
#else
  a.name = "out_of_range";
#endif
  a.run = [](const amct::WeightAlgorithmInput &in, amct::WeightAlgorithmOutput &out,
             std::string &) {
    out.q.assign(in.k * in.n, 100); // int4 holds -8..7
    out.scale.assign(in.groupSize < 0 ? 1 : in.n * (in.groupSize > 0 ? (in.k + in.groupSize - 1) / in.groupSize : 1), 1.0f);
    return true;
  };
  return registry.addWeightAlgorithm(a, error);
}
