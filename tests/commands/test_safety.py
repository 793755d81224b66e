"""What the commands write and where: never lose a user's file (issue 14).

``flestimate run --out DIR`` touches only the files a previous run wrote (listed,
unchanged, in its manifest); ``simulate`` does not overwrite without ``--force``;
an interrupted run leaves nothing behind; permissions are never changed; what
``describe`` and ``run`` print to a terminal holds no escape sequence.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import flestimate
from flestimate.cli import main
from flestimate.commands.simulate import file_names
from flestimate.errors import ConfigError
from flestimate.report import write_outputs
from flestimate.report.folder import check_file_names
from flestimate.report.specs import OutputOptions
from flestimate.run.config import load_config
from flestimate.run.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
OUTPUTS = {"national.csv", "by_sex.csv", "tables.xlsx", "results.json", "report.html",
           "manifest.json"}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (links not followed): its kind, content hash and mode."""
    out = {".": ("dir", None, stat.S_IMODE(root.lstat().st_mode))}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path), None)
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
        else:
            out[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(),
                        stat.S_IMODE(st.st_mode))
    return out


def small_config(folder: Path, **extra) -> Path:
    """The example config on the Parquet sample with two tables (a quick run)."""
    cfg = yaml.safe_load((SAMPLE / "example.yaml").read_text(encoding="utf-8"))
    cfg["input"] = {"path": str(SAMPLE / "fl_survey.parquet")}
    cfg["mapping"] = str(SAMPLE / "mapping.yaml")
    cfg["weighting"][0]["totals"] = str(SAMPLE / "margins.csv")
    cfg["sensitivity"] = False
    cfg["tables"] = [{"name": "national"}, {"name": "by_sex", "by": ["sex"]}]
    cfg.update(extra)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> Path:
    return small_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def result(config_path):
    return run_pipeline(load_config(config_path))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


# ------------------------------------------------------------------ run --out (defect 1)


def test_run_out_dot_in_a_project_folder_touches_nothing(tmp_path, monkeypatch, capsys):
    """The issue's scenario: survey, config, mapping, margins, archive/, a kept old manifest."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("example.yaml", "fl_survey.sav", "mapping.yaml", "margins.csv"):
        shutil.copy(SAMPLE / name, project / name)
    monkeypatch.chdir(project)
    assert main(["run", "example.yaml", "--out", "archive/2025", "--quiet"]) == 0
    shutil.copy(project / "archive" / "2025" / "manifest.json", project / "manifest.json")
    (project / "notes.txt").write_text("my notes")
    project.chmod(0o750)
    before = snapshot(project)

    assert main(["run", "example.yaml", "--out", ".", "--quiet"]) == 2
    err = one_line_error(capsys)
    assert "is not a flestimate output folder" in err
    assert "'archive'" in err and "'example.yaml'" in err and "--force" in err
    assert snapshot(project) == before

    # --force writes beside other files, but never replaces one: the kept manifest is
    # not this folder's (none of the files it lists is here)
    assert main(["run", "example.yaml", "--out", ".", "--quiet", "--force"]) == 2
    assert "'manifest.json'" in one_line_error(capsys)
    assert snapshot(project) == before

    (project / "manifest.json").rename(project / "archive" / "kept-manifest.json")
    before = snapshot(project)
    for _ in range(2):  # the second time over its own outputs
        assert main(["run", "example.yaml", "--out", ".", "--quiet", "--force"]) == 0
        after = snapshot(project)
        assert {k: after[k] for k in before} == before  # every file, folder and mode
        new = set(after) - set(before)
        assert {"national.csv", "by_sex.csv", "tables.xlsx", "manifest.json"} <= new
        assert all("/" not in n for n in new)  # nothing in archive/, no staging left
        man = json.loads((project / "manifest.json").read_text())
        assert set(man["files"]) | {"manifest.json"} == new
    assert main(["run", "example.yaml", "--out", ".", "--quiet"]) == 2  # still not ours alone
    assert "holds 6 file(s) or folder(s) that no previous run wrote" in one_line_error(capsys)


def test_files_added_to_an_output_folder_are_kept(result, tmp_path):
    out = tmp_path / "out"
    write_outputs(result, out)
    (out / "notes.txt").write_text("mine")
    (out / "charts").mkdir()
    (out / "charts" / "fig.png").write_bytes(b"\x89PNG")
    before = snapshot(out)
    with pytest.raises(ConfigError, match=r"holds 2 .*'charts', 'notes.txt'"):
        write_outputs(result, out)
    assert snapshot(out) == before
    write_outputs(result, out, force=True)
    after = snapshot(out)
    assert {k: after[k] for k in ("notes.txt", "charts", "charts/fig.png")} == {
        k: before[k] for k in ("notes.txt", "charts", "charts/fig.png")}
    assert {p.name for p in out.iterdir()} == OUTPUTS | {"notes.txt", "charts"}


def test_rerun_replaces_its_files_and_removes_the_stale_ones(result, tmp_path):
    out = tmp_path / "out"
    write_outputs(result, out)
    (out / ".DS_Store").write_bytes(b"finder")  # dropped by the OS: not in the way, kept
    national_only = dataclasses.replace(result, tables=result.tables[:1])
    write_outputs(national_only, out, OutputOptions(excel=False))
    assert {p.name for p in out.iterdir()} == {"national.csv", "results.json", "report.html",
                                               "manifest.json", ".DS_Store"}
    man = json.loads((out / "manifest.json").read_text())
    assert set(man["files"]) == {"national.csv", "results.json", "report.html"}
    for name, digest in man["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_an_output_the_user_changed_is_not_replaced(result, tmp_path):
    out = tmp_path / "out"
    write_outputs(result, out)
    (out / "national.csv").write_text("my corrected table")
    with pytest.raises(ConfigError, match="'national.csv' changed since flestimate wrote"):
        write_outputs(result, out)
    with pytest.raises(ConfigError, match="never replaces a file it did not write"):
        write_outputs(result, out, force=True)
    assert (out / "national.csv").read_text() == "my corrected table"


def test_an_untrusted_manifest_is_never_followed(result, tmp_path):
    """Names with '..', absolute paths, links and non-output files in a manifest are ignored."""
    out = tmp_path / "out"
    write_outputs(result, out)
    victim = tmp_path / "victim.csv"
    victim.write_text("outside the folder")
    survey = out / "fl_survey.sav"
    shutil.copy(SAMPLE / "fl_survey.sav", survey)
    (out / "link.csv").symlink_to(victim)
    man = json.loads((out / "manifest.json").read_text())

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    man["files"].update({"../victim.csv": digest(victim), str(victim): digest(victim),
                         "link.csv": digest(victim), "fl_survey.sav": digest(survey),
                         "sub/../../victim.csv": digest(victim)})
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ConfigError, match="'fl_survey.sav', 'link.csv'"):
        write_outputs(dataclasses.replace(result, tables=result.tables[:1]), out)
    before = snapshot(tmp_path)
    write_outputs(dataclasses.replace(result, tables=result.tables[:1]), out, force=True)
    after = snapshot(tmp_path)
    for key in ("victim.csv", "out/fl_survey.sav", "out/link.csv"):
        assert after[key] == before[key], key
    assert not (out / "by_sex.csv").exists()  # a real stale output is still removed


def test_folder_permissions_are_never_changed(result, tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new" / "out"
        write_outputs(result, new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o755
        assert stat.S_IMODE(new.parent.stat().st_mode) == 0o755
        assert stat.S_IMODE((new / "report.html").stat().st_mode) == 0o644
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o2775)  # a group folder: setgid, group-writable
        write_outputs(result, shared)
        write_outputs(result, shared)
        assert stat.S_IMODE(shared.stat().st_mode) == 0o2775
    finally:
        os.umask(old)


def busy_mount_point(monkeypatch, out: Path) -> None:
    """Make ``out`` behave like a mount point: it cannot be renamed or removed (EBUSY)."""
    target = out.resolve()

    def guard(func):
        def call(src, *args, **kwargs):
            if Path(src).resolve() == target:
                raise OSError(errno.EBUSY, "Device or resource busy", str(src))
            return func(src, *args, **kwargs)
        return call

    for name in ("rename", "replace", "rmdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))
    monkeypatch.setattr(shutil, "rmtree", guard(shutil.rmtree))


def test_out_at_a_mount_point(config_path, tmp_path, monkeypatch, capsys):
    out = tmp_path / "mnt"
    out.mkdir()
    busy_mount_point(monkeypatch, out)
    assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 0
    (out / "lost+found").mkdir()
    assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 2
    assert "'lost+found'" in one_line_error(capsys)


def test_a_write_error_exits_2_and_keeps_the_previous_outputs(config_path, tmp_path,
                                                              monkeypatch, capsys):
    from flestimate.report import writers

    out = tmp_path / "out"
    assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 0
    before = snapshot(tmp_path)

    def full_disk(result, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(writers, "write_excel", full_disk)
    assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 2
    err = one_line_error(capsys)
    assert "No space left on device" in err and "tables.xlsx" in err and str(out) in err
    assert snapshot(tmp_path) == before
    assert main(["run", str(config_path), "--out", str(tmp_path / "fresh"), "--quiet"]) == 2
    assert not (tmp_path / "fresh").exists()


SLOW_WRITE = """
import sys, time
from flestimate.report import writers

def slow(result):
    open(sys.argv[1], "w").close()
    time.sleep(120)

writers.render_html = slow
from flestimate.cli import main
sys.exit(main(["run", sys.argv[2], "--out", sys.argv[3], "--quiet"]))
"""


@pytest.mark.parametrize("previous", [False, True], ids=["new-folder", "previous-output"])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_leaves_nothing_behind(config_path, tmp_path, tmp_path_factory, signum,
                                                  code, previous):
    out = tmp_path / "out"
    if previous:
        assert main(["run", str(config_path), "--out", str(out), "--quiet"]) == 0
    before = snapshot(tmp_path)
    marker = tmp_path_factory.mktemp("signal") / "writing"
    src = Path(flestimate.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SLOW_WRITE), str(marker), str(config_path),
         str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached the writers"
            time.sleep(0.1)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before  # no hidden staging folder, previous outputs intact


# ------------------------------------------------------------------ table names (defect 11)


def test_table_names_that_differ_only_in_case_are_refused(tmp_path, capsys):
    cfg = small_config(tmp_path, tables=[{"name": "by_sex", "by": ["sex"]},
                                         {"name": "By_Sex", "by": ["sex"], "population": "adults"}])
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = one_line_error(capsys)
    assert "'by_sex' and 'By_Sex' differ only in upper/lower case" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", [".hidden", "a/b", "..", "con", "LPT1", ""])
def test_table_names_that_cannot_be_file_names(name):
    with pytest.raises(ConfigError, match="cannot be used as a file name"):
        check_file_names(["national", name])


# ------------------------------------------------------------------ simulate (defect 2)


def test_simulate_does_not_overwrite_without_force(tmp_path, capsys):
    (tmp_path / "fl_survey.sav").write_bytes(b"the real survey")
    (tmp_path / "margins.csv").write_text("region,total\n1,100\n")
    before = snapshot(tmp_path)
    args = ["simulate", "--respondents", "2000", "--seed", "1", "--out", str(tmp_path),
            "--format", "sav,csv"]
    assert main(args) == 2
    err = one_line_error(capsys)
    assert "'fl_survey.sav', 'margins.csv'" in err and "--force" in err
    assert snapshot(tmp_path) == before
    assert main([*args, "--force"]) == 0
    assert (tmp_path / "fl_survey.sav").read_bytes() != b"the real survey"


@pytest.mark.parametrize("formats", [("sav", "dta", "csv", "parquet"), ("csv",), ("dta",)])
def test_simulate_checks_the_files_it_writes(tmp_path, formats):
    written = flestimate.simulate(2_000, rng=3).write(tmp_path, formats=formats)
    assert sorted(p.name for p in written) == sorted(file_names(formats))


# ------------------------------------------------------------------ terminals (defect 9)


def test_describe_prints_no_escape_sequence(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("region,age\n1,30\n2,40\n")
    (tmp_path / "s.codebook.yaml").write_text(yaml.safe_dump({
        "flestimate_codebook": 1,
        "variables": {"region": {"label": "Region\x1b]0;owned\x07",
                                 "values": {1: "\x1b[2J\x1b[31mNorth", 2: "South\vcoast\x9b1m"}},
                      "age": {"label": "Age\x1b[8m"}},
    }, allow_unicode=False))
    assert main(["describe", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    assert "1=North; 2=South coast1m" in out and "Region" in out
    assert not any(c in out for c in "\x1b\x07\x0b\x9b")
    assert main(["describe", str(tmp_path / "s.csv"), "--json"]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x0b\x9b")
    region = next(v for v in json.loads(out)["variables"] if v["name"] == "region")
    assert region["value_labels"] == "1=\x1b[2J\x1b[31mNorth; 2=South\vcoast\x9b1m"  # kept, escaped


def test_run_prints_no_escape_sequence(tmp_path, capsys):
    cfg = small_config(tmp_path, title="Survey \x1b[2J\x1b]0;owned\x07results")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Survey results" in out and "\x1b" not in out and "\x07" not in out
