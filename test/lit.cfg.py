# -*- Python -*-
# lit configuration of amct-mlir: IR tests (.mlir), tool tests (.test) and
# the gtest unit tests (test/Unit).

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "AMCT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.amct_obj_root, "test")
config.excludes = ["Inputs", "models", "plugins", "roundtrip", "ort", "lit.cfg.py", "CMakeLists.txt"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%expect_exit", config.python_executable + " " + os.path.join(config.test_source_root, "expect_exit.py")))
config.substitutions.append(("%tools_dir", config.amct_tools_dir))
config.substitutions.append(("%models", os.path.join(config.test_source_root, "models")))
config.substitutions.append(("%plugins", os.path.join(config.amct_obj_root, "test", "plugins")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.amct_tools_dir, config.llvm_tools_dir]
tools = ["amct-opt", "amct-translate", "amct"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
