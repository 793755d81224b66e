"""Side-by-side benchmark of flestimate against R survey, svy and samplics (flestimate issue 3).

Examples::

    python benchmarks/run.py                                  # 10k,100k,1M; all systems; 3 runs
    python benchmarks/run.py --sizes 10k,100k --repeats 3
    python benchmarks/run.py --systems flestimate,svy --workloads w2_domains,w6_rake
    python benchmarks/run.py --quick                          # 10k, flestimate only, 1 run

Every (system, workload, size, repeat) is a separate process. The process reports the time of
its steps (load, design, estimate); this script measures the whole process (wall clock) and its
peak resident memory (``wait4`` rusage, the figure ``/usr/bin/time`` reports), then prints one
table with medians, the ratio peer/flestimate and the numerical agreement of every system, and
writes it to docs/performance.md (not in ``--quick`` mode unless ``--write-doc``).

The peers install themselves: R and its packages from Debian when missing (``apt-get``), svy
and samplics from benchmarks/requirements-peers.txt into benchmarks/.peers-venv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import datagen  # noqa: E402
from runner_common import WORKLOADS  # noqa: E402

SYSTEMS = ["flestimate", "r", "svy", "samplics"]
SYSTEM_NAMES = {"flestimate": "flestimate", "r": "R survey", "svy": "svy", "samplics": "samplics"}
R_PACKAGES = {"survey": "r-cran-survey", "data.table": "r-cran-data.table",
              "jsonlite": "r-cran-jsonlite", "haven": "r-cran-haven"}
VENV = HERE / ".peers-venv"
REQUIREMENTS = HERE / "requirements-peers.txt"
DEFAULT_SEED = 20261128
AGREE_TOL = 1e-9
FIELDS = [("estimate", ["estimate"]), ("se", ["se"]), ("ci", ["ci_lower", "ci_upper"]),
          ("deff", ["deff"])]

WORKLOAD_TEXT = {
    "w1_national": "national prevalence of forced labour (`fl`): Taylor SE, deff, Korn-Graubard "
                   "95% CI",
    "w2_domains": "prevalence of the 20 item indicators `b_*` by sex x region x age_group: SE, "
                  "deff, Korn-Graubard CI of every cell",
    "w3_total": "total of `fl` (number of people in forced labour): Taylor SE, deff, t CI on the "
                "design df",
    "w4_bootstrap": "80 bootstrap replicates built from the design; replicate SE of the national "
                    "prevalence and of the sex x region table",
    "w4_jackknife": "delete-one-PSU jackknife within strata (JKn, one replicate per PSU) built "
                    "from the design; same two estimates",
    "w5_repweights": "80 replicate-weight columns `rw1..rw80` read from the file (Rao-Wu "
                     "bootstrap, coefficient 1/80, centred on the replicate mean); same two "
                     "estimates",
    "w6_rake": "raking to the region, sex and age_group population margins, then the national "
               "prevalence (Taylor SE with the calibration term, KG CI) and total of `fl`",
    "w7_read_sav": "reading the whole sample as SPSS `.sav` (value labels, user-missing 8/9)",
    "w8_districts": "prevalence of `fl` by district x sex, districts of 4 PSUs (`psu // 4`): "
                    "54 domains at 10k, 528 at 100k, 5,286 at 1M; SE, deff, Korn-Graubard CI",
    "w9_median": "median of `age` by sex x region x age_group (80 domains) with Woodruff "
                 "95% CIs (R: `svyby(..., svyquantile, ci=TRUE)`, qrule math)",
    "w10_chisq": "test of association of `fl` and `sector` (workers): Rao-Scott second-order F "
                 "(R: `svychisq`)",
    "w_glm": "logistic regression of `fl` on sex, age_group, region, migrant and sector "
             "(categorical, 35 coefficients) with Taylor (design-based) SEs, t CIs on the "
             "residual df and deff per coefficient (R svyglm quasibinomial)",
}

# Where a peer legitimately differs from flestimate, and why; (system, workload) -> reason.
# Printed when the difference exceeds AGREE_TOL.
REASONS = {
    ("svy", "w9_median"): "svy 0.35's quantile (q_method='higher') differs from R's svyquantile "
                          "(qrule 'math') in some cells; flestimate agrees with R",
    ("svy", "w10_chisq"): "svy 0.35's Rao-Scott F and its df differ from R's svychisq; "
                          "flestimate agrees with R",
    ("samplics", "w1_national"): "samplics has logit CIs only (no Korn-Graubard) and no deff "
                                 "for proportions",
    ("samplics", "w2_domains"): "samplics has logit CIs only and no deff for proportions",
    ("samplics", "w3_total"): "samplics reports no deff here; t CI on the full-design df",
    ("samplics", "w4_jackknife"): "samplics centres jackknife pseudo-values on their mean "
                                  "(Wolter 4.2.5), R on the replicate mean; CI df = replicates - 1",
    ("samplics", "w5_repweights"): "domain CI df: samplics uses replicates - 1, flestimate the "
                                   "domain's rank - 1",
    ("samplics", "w6_rake"): "samplics treats raked weights as fixed (no calibration term in "
                             "the SE); logit CI; raking tolerance",
    ("svy", "w1_national"): "svy's Korn-Graubard is the NCHS variant (n* capped at n)",
    ("svy", "w2_domains"): "svy's Korn-Graubard is the NCHS variant (n* capped at n); empty "
                           "cells",
    ("svy", "w4_jackknife"): "domain CI df: svy uses replicates - 1, flestimate the rank of "
                             "the domain's replicate weights - 1 (R's degf of the subset)",
    ("svy", "w5_repweights"): "domain CI df: svy uses replicates - 1, flestimate the rank of "
                              "the domain's replicate weights - 1 (R's degf of the subset)",
    ("r", "w4_jackknife"): "domain CI df: R's confint(svyby, df = degf(design)) uses the whole "
                           "design's df, flestimate the domain's (R's degf of the subset)",
    ("r", "w5_repweights"): "domain CI df: R's confint(svyby, df = degf(design)) uses the "
                            "whole design's df, flestimate the domain's (R's degf of the "
                            "subset)",
    ("svy", "w6_rake"): "raking convergence tolerance",
    ("r", "w6_rake"): "raking convergence tolerance",
    ("r", "w_glm"): "IRLS stopping: both stop when the deviance changes by less than 1e-10 "
                    "(relative), so the last iterates agree to about 1e-9",
    ("svy", "w_glm"): "IRLS stopping: svy's rule (tol 1e-10) is not R's relative change of the "
                      "deviance; estimates and SEs agree to about 1e-8",
    ("r", "w2_domains"): "cells with p = 0: R's Korn-Graubard is undefined (NaN)",
    ("svy", "w8_districts"): "svy's Korn-Graubard is the NCHS variant (n* capped at n); empty "
                             "cells",
    ("r", "w8_districts"): "cells with p = 0: R's Korn-Graubard is undefined (NaN)",
    ("samplics", "w8_districts"): "samplics has logit CIs only and no deff for proportions",
}
BOOTSTRAP_REASON = ("independent bootstrap draws (and scale: R n/((n-1)(B-1)) Canty-Davison, svy "
                    "and samplics 1/B Rao-Wu): SEs agree within Monte Carlo error only")

# Performance targets of flestimate issues 5-7, 16 and 17: (issue, workload, peer, minimum ratio
# peer/flestimate); 1x: "faster than the peer".
TARGETS = [
    (5, "w2_domains", "svy", 30.0), (5, "w2_domains", "r", 50.0),
    (6, "w4_bootstrap", "svy", 10.0), (6, "w4_bootstrap", "r", 30.0),
    (6, "w4_jackknife", "svy", 10.0), (6, "w4_jackknife", "r", 30.0),
    (6, "w5_repweights", "svy", 5.0),
    (7, "w6_rake", "svy", 5.0),
    (16, "w_glm", "svy", 3.0), (16, "w_glm", "r", 10.0),
    (17, "w9_median", "svy", 1.0), (17, "w9_median", "r", 20.0),
    (17, "w10_chisq", "r", 20.0),
]


# prefix of a command merged in by a merged run (written once, however deep the chain)
VIA = "(via the run above)"

def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- peers: install and command


def ensure_r() -> str | None:
    """Return None when R with its packages is usable, else the reason it is not."""
    check = "for (p in c({})) suppressPackageStartupMessages(library(p, character.only=TRUE))"
    check = check.format(", ".join(f'"{p}"' for p in R_PACKAGES))
    if shutil.which("Rscript"):
        ok = subprocess.run(["Rscript", "-e", check], capture_output=True)
        if ok.returncode == 0:
            return None
    packages = ["r-base-core", *R_PACKAGES.values()]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"R or an R package is missing; install: apt-get install {' '.join(packages)}"
    log(f"installing R from Debian: apt-get install {' '.join(packages)}")
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    res = subprocess.run(["apt-get", "install", "-y", "-qq", *packages],
                         env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if res.returncode != 0:
        return "apt-get install of R failed"
    return None if subprocess.run(["Rscript", "-e", check]).returncode == 0 else "R unusable"


def ensure_venv() -> str | None:
    """Create benchmarks/.peers-venv with the pinned svy and samplics when missing or stale."""
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.stamp"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return None
    log(f"creating {VENV.relative_to(ROOT)} and installing {REQUIREMENTS.name}: "
        + ", ".join(line for line in wanted.split() if line))
    if not python.exists():
        res = subprocess.run([sys.executable, "-m", "venv", str(VENV)])
        if res.returncode != 0:
            return "python -m venv failed"
    res = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)])
    if res.returncode != 0:
        return "pip install -r requirements-peers.txt failed"
    stamp.write_text(wanted)
    return None


def command(system: str, workload: str, folder: Path, out: Path, seed: int) -> list[str]:
    tail = [workload, str(folder), str(out), str(seed)]
    if system == "flestimate":
        return [sys.executable, str(HERE / "flestimate_runner.py"), *tail]
    if system == "r":
        return ["Rscript", str(HERE / "peers" / "r_survey.R"), *tail]
    python = str(VENV / "bin" / "python")
    return [python, str(HERE / "peers" / f"{system}_runner.py"), *tail]


# ---------------------------------------------------------------- one process


def _group_rss_kb(pgid: int) -> int:
    """Resident memory of all processes in the process group (the launcher and the workload)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of stat: process group
                continue
            with open(f"/proc/{entry.name}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_once(cmd: list[str], out: Path, log_path: Path, timeout: float,
             mem_limit_kb: int) -> dict:
    """Run one workload process through launch.py; return its JSON, wall time and peak memory."""
    measured = out.with_suffix(".launch.json")
    for path in (out, measured):
        if path.exists():
            path.unlink()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    launcher = [sys.executable, "-S", str(HERE / "launch.py"), str(measured)]
    with open(log_path, "w") as log_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(launcher + cmd, stdout=log_fh, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        killed = ""
        polls = 0
        while proc.poll() is None:
            polls += 1
            if time.perf_counter() - t0 > timeout:
                killed = f"timeout after {timeout:.0f} s"
            elif mem_limit_kb and polls % 10 == 0 and _group_rss_kb(proc.pid) > mem_limit_kb:
                killed = f"memory above {mem_limit_kb / 2**20:.0f} GiB"
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    if killed:
        return {"wall": wall, "maxrss_kb": 0, "status": "skipped", "reason": killed}
    if not measured.exists():
        return {"wall": wall, "maxrss_kb": 0, "status": "error",
                "reason": f"launcher failed (exit {proc.returncode})"}
    result = json.loads(measured.read_text())
    code = result.pop("exit")
    if out.exists():
        result.update(json.loads(out.read_text()))
        if code != 0:
            result.update(status="error", reason=f"exit code {code}")
    else:
        tail = log_path.read_text()[-300:].strip().replace("\n", " | ")
        result.update(status="error", reason=f"exit code {code}: {tail}")
    return result


# ---------------------------------------------------------------- agreement


# in rel_diff, values below this share of the field's largest |value| are compared to that
# floor: an SE that is 0 in one system and 1e-17 (rounding) in another agrees
REL_FLOOR = 1e-4


def rel_diff(a: dict, b: dict, names: list[str]) -> tuple[float | None, str]:
    """Largest |a - b| / max(|b|, floor) over the keys both hold (None values skipped), and
    its key; floor is REL_FLOOR times the largest |b| of the field."""
    worst, where = None, ""
    keys = sorted(a.keys() & b.keys())
    values = [abs(b[k][n]) for k in keys for n in names
              if isinstance(b[k].get(n), (int, float)) and math.isfinite(b[k][n])]
    floor = max(REL_FLOOR * max(values, default=0.0), 1e-300)
    for key in keys:
        for name in names:
            x, y = a[key].get(name), b[key].get(name)
            if x is None or y is None:
                continue
            d = 0.0 if x == y else abs(x - y) / max(abs(y), floor)
            if worst is None or d > worst:
                worst, where = d, f"{key} {name}"
    return worst, where


def agreement(results: dict, reference: dict) -> dict:
    out: dict = {}
    worst = 0.0
    for label, names in FIELDS:
        out[label], where = rel_diff(results, reference, names)
        if out[label] is not None and out[label] > worst:
            worst, out["worst_cell"] = out[label], where
    out["keys"] = len(results.keys() & reference.keys())
    out["missing"] = len(results.keys() ^ reference.keys())
    return out


# ---------------------------------------------------------------- the run


def machine() -> dict:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gib": round(mem, 1), "cpu": model,
            "os": platform.platform(), "python": platform.python_version()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10k,100k,1M", help="respondents, e.g. 10k,100k,1M")
    p.add_argument("--repeats", type=int, default=3, help="runs of each process (median)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="flestimate,r,svy,samplics")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated ids")
    p.add_argument("--quick", action="store_true",
                   help="10k, flestimate only, 1 run, no doc unless --write-doc")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds per process; a system/workload that exceeds it is skipped at "
                        "this and larger sizes")
    p.add_argument("--cell-budget", type=float, default=1200.0,
                   help="seconds: stop repeating a system/workload/size once its runs took "
                        "longer (the table shows how many runs the median is of)")
    p.add_argument("--mem-limit-gb", type=float, default=12.0,
                   help="kill a process whose resident memory exceeds this (0: no limit)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data-dir", type=Path, default=HERE / "_data")
    p.add_argument("--results-dir", type=Path, default=HERE / "_results")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--write-doc", action="store_true", help="write --doc even with --quick")
    p.add_argument("--no-doc", action="store_true", help="do not write --doc")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a flestimate workload ends in an error (not when pending)")
    p.add_argument("--reuse-data", action="store_true",
                   help="keep cached data even if the simulator changed (use with --merge)")
    p.add_argument("--merge", action="append", default=[], metavar="RUN_JSON",
                   help="add the cells of an earlier run (benchmarks/_results/run-*.json) that "
                        "this run does not measure; repeatable")
    p.add_argument("--no-extras", action="store_true",
                   help="skip bench_io.py, bench_classify.py, bench_sae.py and bench_mse.py")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.systems, args.repeats = "10k", "flestimate", 1
        args.no_extras = True
    args.size_list = [datagen.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.system_list = [s.strip().lower() for s in args.systems.split(",") if s.strip()]
    args.workload_list = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [s for s in args.system_list if s not in SYSTEMS]
    bad += [w for w in args.workload_list if w not in WORKLOADS]
    if bad:
        p.error(f"unknown system or workload {bad}; systems {SYSTEMS}, workloads {WORKLOADS}")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    args.write = (not args.quick or args.write_doc) and not args.no_doc
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    cmdline = "python benchmarks/run.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    unavailable: dict[str, str] = {}
    if "r" in args.system_list:
        why = ensure_r()
        if why:
            unavailable["r"] = why
    if {"svy", "samplics"} & set(args.system_list):
        why = ensure_venv()
        if why:
            unavailable["svy"] = unavailable["samplics"] = why
    for system, why in unavailable.items():
        log(f"{SYSTEM_NAMES[system]} unavailable: {why}")

    args.results_dir.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="logs-", dir=args.results_dir))
    records: list[dict] = []
    data_meta: dict[str, dict] = {}
    too_slow: dict[tuple[str, str], str] = {}
    for n in sorted(args.size_list):
        size = datagen.size_label(n)
        folder = datagen.prepare(n, args.seed, args.data_dir, log=log, reuse=args.reuse_data)
        data_meta[size] = json.loads((folder / "meta.json").read_text())
        for workload in args.workload_list:
            for system in args.system_list:
                rec = {"workload": workload, "size": size, "n": n, "system": system,
                       "runs": []}
                records.append(rec)
                if system in unavailable:
                    rec.update(status="skipped", reason=unavailable[system])
                    continue
                if (system, workload) in too_slow:
                    rec.update(status="skipped", reason=too_slow[(system, workload)])
                    continue
                spent = 0.0
                for rep in range(args.repeats):
                    if spent > args.cell_budget:
                        rec["budget_note"] = (f"{rep} of {args.repeats} runs: they took "
                                              f"{spent:.0f} s > --cell-budget")
                        break
                    out = logs / f"{system}-{workload}-{size}-{rep}.json"
                    res = run_once(command(system, workload, folder, out, args.seed), out,
                                   out.with_suffix(".log"), args.timeout,
                                   int(args.mem_limit_gb * 2**20))
                    rec["runs"].append(res)
                    spent += res["wall"]
                    if res["status"] != "ok":
                        break
                summarise(rec)
                if rec["status"] == "skipped":
                    too_slow[(system, workload)] = f"{rec['reason']} at {size}"
                log(f"{workload:14s} {size:>5s} {SYSTEM_NAMES[system]:10s} {rec['status']:11s} "
                    + (f"{rec['wall']:.3f} s  {rec['peak_mb']:.0f} MB" if rec["status"] == "ok"
                       else rec.get("reason", "")[:120]))
    merged_commands: list[str] = []
    merged_extras: dict[str, str] = {}
    for path in args.merge:
        old = json.loads(Path(path).read_text())
        have = {(r["workload"], r["size"], r["system"]) for r in records}
        added = [r for r in old["records"] if (r["workload"], r["size"], r["system"]) not in have]
        records.extend(added)
        for size, meta in old.get("data", {}).items():
            mine = data_meta.setdefault(size, meta)
            if mine.get("fingerprint") != meta.get("fingerprint"):
                log(f"WARNING: {path} measured other {size} data than this run "
                    f"({meta.get('fingerprint')} vs {mine.get('fingerprint')})")
                mine["mismatch"] = True
        for name, text in old.get("extras", {}).items():
            merged_extras.setdefault(name, text)
        if added:
            sizes = sorted({r["size"] for r in added}, key=datagen.parse_size)
            systems = sorted({SYSTEM_NAMES[r["system"]] for r in added})
            merged_commands.append(f"`{old['command']}` ({len(added)} cells: "
                                   f"{', '.join(sizes)}; {', '.join(systems)})")
            merged_commands.extend(c if c.startswith(VIA) else f"{VIA} {c}" for c in old.get("merged", []))
        log(f"merged {len(added)} cells from {path}")
    order = {w: i for i, w in enumerate(WORKLOADS)}
    records.sort(key=lambda r: (order[r["workload"]], r["n"], SYSTEMS.index(r["system"])))
    compare(records)
    extras = {} if args.no_extras else run_extras(args)
    for name, text in merged_extras.items():
        extras.setdefault(name, text)
    report = render(records, data_meta, args, cmdline, started, extras, unavailable,
                    merged_commands)
    print()
    print(report)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    raw = {"command": cmdline, "machine": machine(), "data": data_meta,
           "merged": merged_commands, "extras": extras, "records": records}
    (args.results_dir / f"run-{stamp}.json").write_text(json.dumps(raw, indent=1, default=str))
    if args.write:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(report)
        log(f"wrote {args.doc}")
    broken = [r for r in records if r["system"] == "flestimate" and r["status"] == "error"]
    if broken and args.strict:
        log(f"--strict: {len(broken)} flestimate workload(s) failed: "
            + "; ".join(f"{r['workload']}: {r['reason'][:200]}" for r in broken))
        return 1
    return 0


def summarise(rec: dict) -> None:
    runs = rec["runs"]
    ok = [r for r in runs if r["status"] == "ok"]
    if not runs:
        return
    if len(ok) < len(runs) or not ok:
        bad = runs[-1]
        rec.update(status=bad["status"], reason=bad.get("reason", ""))
        if bad["status"] == "error" and ok:
            rec["reason"] = f"run {len(ok) + 1}: {rec['reason']}"
        return
    rec["status"] = "ok"
    rec["repeats"] = len(ok)
    rec["wall"] = statistics.median(r["wall"] for r in ok)
    rec["peak_mb"] = statistics.median(r["maxrss_kb"] for r in ok) / 1024
    steps = {s for r in ok for s in r["steps"]}
    rec["steps"] = {s: statistics.median(r["steps"].get(s, 0.0) for r in ok) for s in steps}
    rec["versions"] = ok[0].get("versions", {})
    rec["first"] = ok[0]["results"]
    rec["n_results"] = len(ok[0]["results"])


def compare(records: list[dict]) -> None:
    """Ratios to flestimate and agreement: flestimate vs R, each peer vs flestimate (else R)."""
    by = {(r["workload"], r["size"], r["system"]): r for r in records}
    for rec in records:
        for stale in ("ratio_wall", "ratio_step", "agree", "agree_reason", "vs"):
            rec.pop(stale, None)
        if rec["status"] != "ok":
            continue
        fle = by.get((rec["workload"], rec["size"], "flestimate"))
        ref_r = by.get((rec["workload"], rec["size"], "r"))
        fle_ok = fle is not None and fle["status"] == "ok"
        if rec["system"] != "flestimate" and fle_ok:
            rec["ratio_wall"] = rec["wall"] / fle["wall"]
            main_step = "load" if rec["workload"] == "w7_read_sav" else "estimate"
            a, b = rec["steps"].get(main_step), fle["steps"].get(main_step)
            rec["ratio_step"] = a / b if a and b else None
        if rec["system"] == "flestimate":
            ref = ref_r if ref_r is not None and ref_r["status"] == "ok" else None
            rec["vs"] = "R survey" if ref else ""
        elif fle_ok:
            ref, rec["vs"] = fle, "flestimate"
        elif rec["system"] != "r" and ref_r is not None and ref_r["status"] == "ok":
            ref, rec["vs"] = ref_r, "R survey"
        else:
            ref = None
        if ref is None:
            continue
        agree = agreement(rec["first"], ref["first"])
        rec["agree"] = agree
        worst = max((agree[k] or 0.0 for k, _ in FIELDS), default=0.0)
        if worst > AGREE_TOL or agree["missing"]:
            pair = (rec["system"] if rec["system"] != "flestimate" else "r", rec["workload"])
            reason = (BOOTSTRAP_REASON if rec["workload"] == "w4_bootstrap"
                      else REASONS.get(pair, ""))
            if not reason:
                reason = "UNEXPLAINED"
            if agree.get("worst_cell"):
                reason += f" (largest: {agree['worst_cell']})"
            if agree["missing"]:
                reason = f"{agree['missing']} keys in one system only; " + reason
            rec["agree_reason"] = reason


# ---------------------------------------------------------------- extras by other engineers


def run_extras(args: argparse.Namespace) -> dict[str, str]:
    """Run benchmarks/bench_io.py (workload 7 against pyreadstat), bench_classify.py and
    bench_sae.py and bench_mse.py."""
    out = {}
    n = max(args.size_list)
    for name in ("bench_io.py", "bench_classify.py", "bench_sae.py", "bench_mse.py"):
        path = HERE / name
        if not path.exists():
            continue
        helptext = subprocess.run([sys.executable, str(path), "--help"], capture_output=True,
                                  text=True, timeout=120).stdout
        cmd = [sys.executable, str(path)]
        for flag, value in (("--n", n), ("--rows", n), ("--repeat", args.repeats)):
            if re.search(rf"{flag}\b(?!-)", helptext):
                cmd += [flag, str(value)]
        log(f"running {' '.join(cmd[1:])}")
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                 cwd=ROOT)
            text = res.stdout.strip() if res.returncode == 0 else (
                f"failed (exit {res.returncode}): {res.stderr.strip()[-500:]}")
        except subprocess.TimeoutExpired:
            text = f"skipped: longer than {args.timeout:.0f} s"
        rel = "python benchmarks/" + " ".join([name, *cmd[2:]])
        out[name] = f"Command: `{rel}`\n\n```\n{text}\n```"
    return out


# ---------------------------------------------------------------- report


def _fmt_t(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3g}" if x >= 0.001 else f"{x:.1e}"


def _fmt_d(x: float | None) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def _versions(records: list[dict]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for rec in records:
        versions.update(rec.get("versions", {}))
    return versions


def table(records: list[dict]) -> str:
    head = ("| workload | size | system | status | runs | process s | load s | design s | "
            "estimate s | peak MB | ratio process | ratio step | vs | d estimate | d se | "
            "d ci | d deff | why they differ |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for rec in records:
        steps = rec.get("steps", {})
        agree = rec.get("agree", {})
        status = rec["status"]
        note = rec.get("agree_reason", "") if status == "ok" else rec.get("reason", "")
        note = note.replace("|", "/")[:220]
        lines.append("| " + " | ".join([
            rec["workload"], rec["size"], SYSTEM_NAMES[rec["system"]], status,
            str(rec.get("repeats", "")), _fmt_t(rec.get("wall")), _fmt_t(steps.get("load")),
            _fmt_t(steps.get("design")), _fmt_t(steps.get("estimate")),
            f"{rec['peak_mb']:.0f}" if "peak_mb" in rec else "",
            f"{rec['ratio_wall']:.2f}" if rec.get("ratio_wall") else "",
            f"{rec['ratio_step']:.2f}" if rec.get("ratio_step") else "",
            rec.get("vs", ""),
            *(_fmt_d(agree.get(k)) if agree else "" for k in ("estimate", "se", "ci", "deff")),
            note,
        ]) + " |")
    return "\n".join(lines)


def targets(records: list[dict]) -> str:
    by = {(r["workload"], r["size"], r["system"]): r for r in records}
    sizes = sorted({(r["n"], r["size"]) for r in records})
    lines = ["| issue | workload | peer | target (peer / flestimate, estimate step) | "
             "measured | at size |", "|---|---|---|---|---|---|"]
    for issue, workload, peer, minimum in TARGETS:
        measured, at = "pending", ""
        for _, size in reversed(sizes):
            rec = by.get((workload, size, peer))
            fle = by.get((workload, size, "flestimate"))
            if rec is None or fle is None:
                continue
            if rec.get("ratio_step"):
                ok = "met" if rec["ratio_step"] >= minimum else "not met"
                measured, at = f"{rec['ratio_step']:.1f}x ({ok})", size
                break
            if fle["status"] != "ok":
                measured, at = f"flestimate {fle['status']}", size
                break
            if rec["status"] != "ok":
                measured, at = f"{SYSTEM_NAMES[peer]} {rec['status']}", size
        lines.append(f"| {issue} | {workload} | {SYSTEM_NAMES[peer]} | >= {minimum:g}x | "
                     f"{measured} | {at} |")
    return "\n".join(lines)


def render(records, data_meta, args, cmdline, started, extras, unavailable,
           merged_commands) -> str:
    mach = machine()
    versions = _versions(records)
    versions.setdefault("python", mach["python"])
    try:
        import numpy
        import pandas
        versions.setdefault("numpy", numpy.__version__)
        versions.setdefault("pandas", pandas.__version__)
    except ImportError:
        pass
    out = [
        "# Performance: flestimate side by side with R survey, svy and samplics",
        "",
        "Written by `benchmarks/run.py` (see benchmarks/README.md). Each system runs each "
        "workload in its own process; times are medians over the runs (wall clock, seconds); "
        "*process* is the whole process (interpreter start, imports, load, design, estimate), "
        "the steps are timed inside it. Peak memory is the process's maximum resident set "
        "(wait4 rusage). *ratio* = peer / flestimate (above 1: flestimate is faster); "
        "*ratio step* compares the estimate step (the load step for w7). *d ...* are the "
        "largest relative differences over all cells against the system named in *vs* "
        "(a value below 1e-4 of the field's largest is compared to that floor, so that an SE "
        "of 0 and one of 1e-17 agree): "
        "flestimate is compared with R survey, each peer with flestimate (with R survey while "
        "flestimate is pending). *pending*: the flestimate feature does not exist yet.",
        "",
        f"- Command: `{cmdline}`",
        *(f"- With the cells (not re-run here) of the earlier run {c}" for c in merged_commands),
        f"- Run at: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {mach['cores']} cores, {mach['memory_gib']} GiB memory, CPU "
        f"{mach['cpu']}, {mach['os']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        f"- This run: per-process timeout {args.timeout:.0f} s, memory limit {args.mem_limit_gb:g} GiB "
        "(a system/workload that exceeds one is skipped at that size and larger ones); "
        f"repeats stop once a cell's runs took {args.cell_budget:.0f} s.",
        "",
        "## Data",
        "",
    ]
    for size, meta in sorted(data_meta.items(), key=lambda kv: kv[1]["n"]):
        options = "".join(f", {k}={v}" for k, v in meta.get("simulate_options", {}).items())
        if meta.get("mismatch"):
            out.append(f"- WARNING: merged runs measured different {size} data")
        out.append(f"- {size}: {meta['n']:,} respondents asked, {meta.get('rows', meta['n']):,} "
                   f"rows, {meta['n_strata']} strata, {meta['n_psu']:,} PSUs, from "
                   f"`{meta['source']}` (seed {meta['seed']}{options}, data "
                   f"{meta.get('fingerprint', '')})")
    out += ["", "Design everywhere: strata `stratum`, PSU `psu` (nested in strata), weight "
            "`w_final`. `fl` is the true forced-labour status of the respondent (the "
            "simulator's `fl_true`); `b_<item>` is 1 when an involuntariness item was answered "
            "yes, else 0.", "", "## Workloads", ""]
    present = {r["workload"] for r in records}
    out += [f"- **{w}**: {WORKLOAD_TEXT[w]}" for w in WORKLOADS if w in present]
    out += ["", "## Results", "", table(records), "",
            "## Issue targets", "", targets(records), ""]
    notes = [f"- {SYSTEM_NAMES[s]}: {why}" for s, why in unavailable.items()]
    notes += [f"- {r['workload']} {r['size']} {SYSTEM_NAMES[r['system']]}: {r['budget_note']}"
              for r in records if r.get("budget_note")]
    skipped = [r for r in records if r["status"] == "skipped"]
    notes += [f"- {r['workload']} {r['size']} {SYSTEM_NAMES[r['system']]}: {r['reason']}"
              for r in skipped]
    if notes:
        out += ["## Skipped or fewer runs", "", *notes, ""]
    for name, text in extras.items():
        out += [f"## {name}", "", text, ""]
    large = HERE / "large_results.md"  # measured by hand (benchmarks/large_data.py)
    if large.exists():
        out += [large.read_text().strip(), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
