"""Whole-process timing shared by the benchmark scripts."""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time


def timed(cmd, env=None):
    """Runs cmd in a fresh process: wall s, peak RSS bytes, user+sys s, stdout, stderr.

    Peak RSS and CPU come from `/usr/bin/time -v` if present, else from wait4()'s
    rusage of that child. Exits with the command's stderr if it fails.
    """
    gnu_time = os.path.exists("/usr/bin/time")
    full = (["/usr/bin/time", "-v"] + cmd) if gnu_time else cmd
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(full, env=env, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
    if gnu_time:
        rss = 1024 * int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)[1])
        cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", stderr)[1])
                  for k in ("User", "System"))
    else:
        rss, cpu = 1024 * ru.ru_maxrss, ru.ru_utime + ru.ru_stime
    return wall, rss, cpu, stdout, stderr


def cpu_seconds():
    """(busy CPU s of the whole machine, CPU s of this script and its finished children)."""
    with open("/proc/stat") as f:
        j = [int(v) for v in f.readline().split()[1:]]
    busy = (sum(j[:8]) - j[3] - j[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return busy, sum(r.ru_utime + r.ru_stime for r in ru)


def publish(text, markdown_path):
    """Prints the report and, if asked, writes it to a markdown file."""
    print(text, end="")
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(text)
