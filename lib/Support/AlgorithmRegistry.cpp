//===- AlgorithmRegistry.cpp - user quantization algorithms ---------------===//

#include "amct/Support/AlgorithmRegistry.h"

#include <algorithm>
#include <dlfcn.h>
#include <memory>
#include <mutex>

using namespace amct;

namespace {

class Registry final : public AlgorithmRegistry {
public:
  Registry() {
    auto builtin = [&](std::string name, std::vector<AlgorithmParam> params, bool inputs) {
      WeightAlgorithm a;
      a.name = std::move(name);
      a.params = std::move(params);
      a.needsInputs = inputs;
      a.origin = "built-in";
      algorithms.push_back(std::move(a));
    };
    AlgorithmParam gridsNum{"grids_num", AlgorithmParam::Kind::Integer, 1, INFINITY, false,
                            false, 20};
    AlgorithmParam clip{"clip", AlgorithmParam::Kind::Bool, 0, 1, false, false, 1};
    AlgorithmParam strength{"smooth_strength", AlgorithmParam::Kind::Number, 0, 1, true, true,
                            NAN};
    builtin("minmax", {}, false);
    builtin("awq", {gridsNum, clip}, true);
    builtin("gptq", {clip}, true);
    builtin("smoothquant", {strength}, true);
  }

  /// Checks shared by both kinds; false with `error`.
  template <typename A> bool check(const A &algorithm, std::string &error) {
    if (algorithm.name.empty()) {
      error = "an algorithm needs a name";
      return false;
    }
    std::string origin;
    if (const WeightAlgorithm *w = find(algorithm.name))
      origin = w->origin;
    else if (const ActivationAlgorithm *a = findActivation(algorithm.name))
      origin = a->origin;
    if (!origin.empty()) {
      error = "algorithm \"" + algorithm.name + "\" is already registered (" + origin + ")";
      return false;
    }
    if (!algorithm.run) {
      error = "algorithm \"" + algorithm.name + "\" has no function";
      return false;
    }
    for (const AlgorithmParam &p : algorithm.params)
      if (p.name.empty()) {
        error = "algorithm \"" + algorithm.name + "\" has a parameter without a name";
        return false;
      }
    return true;
  }

  /// A plugin being loaded names its file; otherwise the caller's own
  /// description (the Python module's "Python function f") or a default.
  std::string originOf(const std::string &given) const {
    if (!currentOrigin.empty())
      return currentOrigin;
    return given.empty() ? "registered in process" : given;
  }

  bool addWeightAlgorithm(WeightAlgorithm algorithm, std::string &error) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!check(algorithm, error))
      return false;
    algorithm.origin = originOf(algorithm.origin);
    algorithms.push_back(std::move(algorithm));
    return true;
  }

  bool addActivationAlgorithm(ActivationAlgorithm algorithm, std::string &error) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!check(algorithm, error))
      return false;
    algorithm.origin = originOf(algorithm.origin);
    activations.push_back(std::move(algorithm));
    return true;
  }

  const ActivationAlgorithm *findActivation(const std::string &name) const {
    for (const ActivationAlgorithm &a : activations)
      if (a.name == name)
        return &a;
    return nullptr;
  }

  const WeightAlgorithm *find(const std::string &name) const {
    for (const WeightAlgorithm &a : algorithms)
      if (a.name == name)
        return &a;
    return nullptr;
  }

  std::vector<WeightAlgorithm> algorithms;
  std::vector<ActivationAlgorithm> activations;
  std::string currentOrigin;
  std::mutex mutex;
};

Registry &registry() {
  static Registry r;
  return r;
}

} // namespace

AlgorithmRegistry &amct::algorithmRegistry() { return registry(); }

const WeightAlgorithm *amct::findWeightAlgorithm(const std::string &name) {
  return registry().find(name);
}

const ActivationAlgorithm *amct::findActivationAlgorithm(const std::string &name) {
  return registry().findActivation(name);
}

std::vector<std::string> amct::registeredAlgorithmNames() {
  std::vector<std::string> names;
  for (const WeightAlgorithm &a : registry().algorithms)
    names.push_back(a.name);
  for (const ActivationAlgorithm &a : registry().activations)
    names.push_back(a.name);
  std::sort(names.begin(), names.end());
  return names;
}

bool amct::loadAlgorithmPlugin(const std::string &path, std::string &error) {
  // A path without a slash would be searched in the library path: name the
  // file the user gave.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    error = "plugin " + path + ": cannot load: " + (why ? why : "unknown error");
    return false;
  }
  auto fn = reinterpret_cast<RegisterAlgorithmsFn>(dlsym(handle, kRegisterAlgorithmsSymbol));
  if (!fn) {
    error = "plugin " + path + ": no " + kRegisterAlgorithmsSymbol +
            " symbol (a plugin defines extern \"C\" bool amct_register_algorithms("
            "amct::AlgorithmRegistry &, std::string &))";
    dlclose(handle);
    return false;
  }
  // The plugin stays loaded: its functions are in the registry now.
  registry().currentOrigin = "plugin " + path;
  std::string why;
  bool ok = fn(registry(), why);
  registry().currentOrigin.clear();
  if (!ok) {
    error = "plugin " + path + ": registration failed: " +
            (why.empty() ? std::string("(no reason given)") : why);
    return false;
  }
  return true;
}
