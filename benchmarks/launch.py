"""Start one workload process and report its wall time and peak memory.

Usage: python -S launch.py <report.json> <command> [args...]

Linux carries a process's peak resident set across fork and exec, so a workload started
directly by run.py (which holds the generated data) would report run.py's peak, not its own.
This launcher is a fresh, small interpreter: the workload forked from it starts from a few
megabytes, and ``wait4`` gives the workload's own peak (what ``/usr/bin/time -v`` reports).
"""

import json
import os
import sys
import time


def main() -> int:
    report, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as fh:
        json.dump({"wall": wall, "maxrss_kb": usage.ru_maxrss, "exit": code}, fh)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
