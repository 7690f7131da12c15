#!/usr/bin/python3
"""Runs a command with its stderr on a pseudo-terminal of 100 columns (stdin and
stdout as inherited) and writes what the terminal received to a file, so a test
can see what a user at a terminal would see. Exits with the command's status.

    stderr_on_pty.py OUT CMD [ARG ...]
"""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

out_path, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
proc = subprocess.Popen(cmd, stderr=slave)
os.close(slave)
received = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the command closed its end
        break
    if not chunk:
        break
    received += chunk
status = proc.wait()
with open(out_path, "wb") as f:
    f.write(received)
sys.exit(status)
