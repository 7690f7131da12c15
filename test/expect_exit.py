#!/usr/bin/python3
"""lit helper: `expect_exit.py CODE cmd args...` runs the command, passes its
stdout/stderr through, and exits 0 only if the command exited with CODE (lit's
`not` accepts any failure; the tools promise 1 for bad input, 2 for usage)."""
import subprocess
import sys

code = int(sys.argv[1])
proc = subprocess.run(sys.argv[2:])
if proc.returncode != code:
    print(f"expect_exit: expected exit status {code}, got {proc.returncode}", file=sys.stderr)
    sys.exit(1)
