#!/usr/bin/env bash
# The installed package works for a toolchain: installs the build into a
# temporary prefix, builds examples/standalone-tool against it with
# find_package(AMCT), and checks that its opt and translate drivers give
# byte for byte what amct-opt / amct-translate give on the same model
# (import, the quantize pipeline and convert, export); imports the
# installed Python package and quantizes with it.
#   standalone_tool.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build="$1" src="$2" work="$3"
rm -rf "$work/prefix" "$work/out"
mkdir -p "$work/out"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"

prefix="$work/prefix"
for f in lib/cmake/amct/AMCTConfig.cmake lib/cmake/amct/AMCTConfigVersion.cmake \
         lib/cmake/amct/AMCTTargets.cmake include/amct/InitAll.h \
         include/amct/Transforms/Passes.h.inc include/amct/Transforms/Passes.td \
         include/amct/Dialect/Amct/IR/AmctOps.td bin/amct bin/amct-opt bin/amct-translate; do
  [ -e "$prefix/$f" ] || { echo "FAIL: the install has no $f"; exit 1; }
done

launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The tool's build folder is kept between runs (ccache and ninja make a
# rebuild cheap); only the prefix is fresh.
cmake -G Ninja -S "$src/examples/standalone-tool" -B "$work/tool" -DCMAKE_BUILD_TYPE=Release \
  -DAMCT_DIR="$prefix/lib/cmake/amct" "${launcher[@]}" > "$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/tool" -j "${AMCT_JOBS:-2}" > "$work/build.log" || { cat "$work/build.log"; exit 1; }

out="$work/out" models="$src/test/models" bin="$build/bin"
"$work/tool/standalone-translate" --import-onnx "$models/cnn_bn.onnx" --mlir-print-debuginfo -o "$out/a.mlir"
"$bin/amct-translate" --import-onnx "$models/cnn_bn.onnx" -o "$out/b.mlir"
# amct-translate ends the file with one more newline.
diff -B "$out/a.mlir" "$out/b.mlir" > /dev/null || { echo "FAIL: import differs from amct-translate's"; exit 1; }

pipeline=(--amct-prepare "--amct-quantize=calib-data=$models/cnn_bn.inputs/input.npy batch-num=2"
          --amct-convert --mlir-print-debuginfo)
"$work/tool/standalone-opt" "$out/a.mlir" "${pipeline[@]}" -o "$out/qa.mlir"
"$bin/amct-opt" "$out/b.mlir" "${pipeline[@]}" -o "$out/qb.mlir"
diff -B "$out/qa.mlir" "$out/qb.mlir" > /dev/null || { echo "FAIL: the pipeline's output differs from amct-opt's"; exit 1; }
grep -q "ascend.AscendQuant" "$out/qa.mlir" || { echo "FAIL: no AscendQuant in the converted model"; exit 1; }

"$work/tool/standalone-translate" --export-onnx "$out/qa.mlir" -o "$out/qa.onnx"
"$bin/amct-translate" --export-onnx "$out/qb.mlir" -o "$out/qb.onnx"
cmp "$out/qa.onnx" "$out/qb.onnx" || { echo "FAIL: export differs from amct-translate's"; exit 1; }

# A bad model is an error of the driver, not a crash.
echo "not onnx" > "$out/bad.onnx"
if "$work/tool/standalone-translate" --import-onnx "$out/bad.onnx" -o "$out/bad.mlir" 2> "$out/bad.err"; then
  echo "FAIL: a malformed model imported"; exit 1
fi
grep -q "bad.onnx" "$out/bad.err" || { echo "FAIL: the error does not name the file:"; cat "$out/bad.err"; exit 1; }
# The Python package from the install, not from the build.
site="$(dirname "$(dirname "$(find "$prefix" -path '*/amct_mlir/__init__.py' | head -1)")")"
[ -d "$site/amct_mlir" ] || { echo "FAIL: the install has no amct_mlir package"; exit 1; }
PYTHONPATH="$site" /usr/bin/python3 - "$models" "$out" <<'PY'
import sys, numpy as np, amct_mlir as amct
models, out = sys.argv[1:]
assert amct.__file__.startswith(sys.path[1]) or "/prefix/" in amct.__file__, amct.__file__
r = amct.quantize(f"{models}/cnn_bn.onnx", input_data=np.load(f"{models}/cnn_bn.inputs/input.npy"),
                  save_path=f"{out}/py")
assert len(r["quantized"]) == 7, r["quantized"]
PY
cmp "$out/py_record.txt" <("$bin/amct" quantize --model "$models/cnn_bn.onnx" \
  --calib-data "$models/cnn_bn.inputs/input.npy" --save-path "$out/cli" > /dev/null && cat "$out/cli_record.txt") ||
  { echo "FAIL: the installed Python package's record differs from the CLI's"; exit 1; }
echo "PASS: standalone tool built against $prefix; import, quantize pipeline, convert and export match"
