# -*- Python -*-
# The gtest binaries under unittests/, run by lit's GoogleTest format.

import os

import lit.formats

config.name = "AMCT-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.amct_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
