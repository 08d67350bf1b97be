"""Hostile but realistic input (issue 13): each finding through the CLI, where a user meets it.

Every case asserts the refusal (exit 2, a message naming the problem and the fix) and that
nothing was executed, written outside its folder, lost or silently changed.
"""

import csv
import json
import os
import pickle
import shutil

import pytest
import torch
from PIL import Image

from testbed.run.results import DAMAGED_FILE, read_results

from ..conftest import TINY, run_cli

FAST = [*TINY, "codec=[uncoded]", "channel=[awgn]", "snr_db=[4,10]", "cbr=[1/16]", "metric=[psnr]"]


def _refused(run, *words):
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    for word in words:
        assert word in run.stderr, (word, run.stderr[-2000:])


# ---------------------------------------------------------------- nothing read is executed
@pytest.mark.parametrize("target,args", [("numpy.load", "[{evil}]"), ("this.x", "[]")])
def test_a_target_outside_testbed_is_refused_before_any_import(target, args, tmp_path):
    victim, evil, copy = tmp_path / "victim.txt", tmp_path / "evil.pkl", tmp_path / "copy.txt"
    victim.write_text("keep me")
    evil.write_bytes(pickle.dumps(os.system))
    run = run_cli(*FAST, f"codec.uncoded._target_={target}",
                  f"+codec.uncoded._args_={args.format(evil=evil, victim=victim, copy=copy)}",
                  f"hydra.run.dir={tmp_path / 'run'}")
    _refused(run, f"_target_ '{target}' is refused", "testbed.configs entry point")
    assert victim.read_text() == "keep me" and not copy.exists()
    assert "Beautiful is better than ugly" not in run.stdout + run.stderr  # `this` was never imported


@pytest.mark.parametrize("target,args", [("builtins.open", ["{victim}", "w"]), ("shutil.copyfile", ["{victim}", "{copy}"])])
def test_file_writing_targets_are_refused_in_the_python_api_too(target, args, tmp_path):
    from testbed.config.catalogue import instantiate
    from testbed.core.errors import ConfigError

    victim, copy = tmp_path / "victim.txt", tmp_path / "copy.txt"
    victim.write_text("keep me")
    with pytest.raises(ConfigError, match=f"_target_ '{target}' is refused"):
        instantiate({"_target_": target, "_args_": [a.format(victim=victim, copy=copy) for a in args]})
    with pytest.raises(ConfigError, match="is refused"):  # nested targets too
        instantiate({"_target_": "testbed.codecs.uncoded.UncodedAnalog", "x": {"_target_": target}})
    assert victim.read_text() == "keep me" and not copy.exists()


def test_a_target_of_the_wrong_group_is_refused(tmp_path):
    run = run_cli(*FAST, "codec.uncoded._target_=testbed.channels.awgn.AWGNChannel", f"hydra.run.dir={tmp_path}")
    _refused(run, "is not a Codec")
    planted = tmp_path / "planted"  # a testbed class that writes where its argument says, as a "metric"
    run = run_cli("experiment=transformations", "dataset=embedded", "dataset.limit=1", "metric=[psnr]",
                  "metric.psnr._target_=testbed.run.results.ResultsStore", f"+metric.psnr.directory={planted}",
                  "+metric.psnr.metrics=[]", f"paths.output_dir={tmp_path / 'out'}")
    _refused(run, "is not a Metric")
    assert not planted.exists()


def test_a_checkpoint_with_pickled_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"model": {}, "config": {}, "payload": Evil()}, tmp_path / "evil.pt")
    run = run_cli(*FAST, "codec=[deepjscc]", f"codec.deepjscc.checkpoints=[{tmp_path / 'evil.pt'}]",
                  f"hydra.run.dir={tmp_path / 'run'}")
    _refused(run, "evil.pt is not a readable testbed checkpoint", "never pickled code")
    assert not marker.exists()


def test_damaged_checkpoints_and_weights_files_are_refused_with_the_file_named(tmp_path):
    from testbed.codecs.learned.checkpoint import resolve_checkpoint

    saved = torch.load(resolve_checkpoint("deepjscc_awgn_cbr1-16_snr10.pt"), weights_only=True)
    first = next(iter(saved["model"]))
    saved["model"][first] = torch.zeros(3)  # a wrong-shaped tensor
    torch.save(saved, tmp_path / "shape.pt")
    saved = torch.load(resolve_checkpoint("deepjscc_awgn_cbr1-16_snr10.pt"), weights_only=True)
    saved["config"]["rates"] = ["abc"]
    torch.save(saved, tmp_path / "rates.pt")
    for name, words in (("shape.pt", "do not fit the network"), ("rates.pt", "rates=['abc']")):
        run = run_cli(*FAST, "codec=[deepjscc]", f"codec.deepjscc.checkpoints=[{tmp_path / name}]",
                      f"hydra.run.dir={tmp_path / name}.run")
        _refused(run, name, words)
    (tmp_path / "text.pth").write_text("root:x:0:0")
    run = run_cli(*FAST, "metric=[st_lpips]", f"metric.st_lpips.weights={tmp_path / 'text.pth'}",
                  f"hydra.run.dir={tmp_path / 'w'}")
    _refused(run, "text.pth is not a readable weights file")


# ---------------------------------------------------------------- paths from results files
def _run(out, *extra):
    """A sweep in this process (the CLI's own code path, without a second interpreter's start-up)."""
    from hydra import compose, initialize_config_module

    from testbed.run.sweep import run_sweep

    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        cfg = compose(config_name="config", overrides=[*FAST, *extra])
    return run_sweep(cfg, out)


def _rewrite(path, change):
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    change(rows)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_merge_refuses_a_recon_path_that_leaves_the_run_folder(tmp_path):
    results = _run(tmp_path / "job")
    _rewrite(results, lambda rows: rows[0].update(recon_path="../../evil/planted.txt"))
    (tmp_path / "evil").mkdir()
    run = run_cli("merge", str(tmp_path / "job"), "--out", str(tmp_path / "out" / "merged"))
    _refused(run, "not inside its run folder's images/", "recon_path")
    assert not (tmp_path / "evil" / "planted.txt").exists() and not (tmp_path / "out" / "merged" / "results.csv").exists()
    _rewrite(results, lambda rows: rows[0].update(recon_path="/etc/passwd"))
    _refused(run_cli("merge", str(tmp_path / "job"), "--out", str(tmp_path / "m2")), "/etc/passwd")


def test_report_and_plot_degrade_on_missing_foreign_and_outside_images(tmp_path):
    results = _run(tmp_path / "run", "snr_db=[1,4,10]")
    saved = [r for r in read_results(results) if r["recon_path"]]
    (tmp_path / "run" / saved[0]["recon_path"]).write_text("not an image")
    _rewrite(results, lambda rows: [r.update(recon_path="../../../etc/passwd") for r in rows
                                    if r["recon_path"] == saved[1]["recon_path"]])
    copy = tmp_path / "copied"
    copy.mkdir()
    shutil.copy(results, copy / "results.csv")  # a results file without its images/
    for folder in (tmp_path / "run", copy):
        run = run_cli("report", str(folder))
        assert run.returncode == 0, run.stderr[-2000:]
        page = (folder / "report.html").read_text()
        assert "outside its run folder" in page and "passwd" in page and "root:" not in page
        plot = run_cli("plot", str(folder), "--out", str(folder / "plots"))
        assert plot.returncode == 0, plot.stderr[-2000:]
    assert "image unreadable" in (tmp_path / "run" / "report.html").read_text()
    assert "image missing" in (copy / "report.html").read_text()


def test_planted_links_in_a_run_folder_are_never_followed(tmp_path):
    """A link planted in a run folder (images/ itself, one original, results.csv) would make merge
    copy, report embed, or a rerun write outside it: reads treat such files as outside, writes are
    refused, and nothing outside changes."""
    results = _run(tmp_path / "run")
    saved = next(r for r in read_results(results) if r["recon_path"])
    outside = tmp_path / "outside"
    shutil.move(tmp_path / "run" / "images", outside)
    (tmp_path / "run" / "images").symlink_to(outside, target_is_directory=True)  # images/ -> outside
    _refused(run_cli("merge", str(tmp_path / "run"), "--out", str(tmp_path / "m")), "not inside its run folder's images/")
    report = run_cli("report", str(tmp_path / "run"))
    assert report.returncode == 0, report.stderr[-2000:]
    page = (tmp_path / "run" / "report.html").read_text()
    assert "outside its run folder" in page and '<figure class="card"' not in page  # no image embedded
    before = sorted(p.relative_to(outside) for p in outside.rglob("*"))
    _refused(run_cli(*FAST, f"hydra.run.dir={tmp_path / 'run'}", "snr_db=[4,10,13]"), "is a symbolic link")
    assert sorted(p.relative_to(outside) for p in outside.rglob("*")) == before  # nothing written through it
    (tmp_path / "run" / "images").unlink()  # a real images/ again, with one original linked outside
    shutil.copytree(outside, tmp_path / "run" / "images")
    original = next((tmp_path / "run" / "images" / "original").glob("*.png"))
    original.unlink()
    original.symlink_to(next((outside / "original").glob("*.png")))
    assert run_cli("report", str(tmp_path / "run")).returncode == 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert '<figure class="card"' in page and 'alt="original"' not in page  # the linked original is left out
    elsewhere = tmp_path / "elsewhere.csv"
    shutil.copy(results, elsewhere)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "results.csv").symlink_to(elsewhere)
    text = elsewhere.read_text()
    _refused(run_cli(*FAST, f"hydra.run.dir={fresh}"), "results.csv is a symbolic link")
    assert elsewhere.read_text() == text


def test_an_unwritable_run_folder_or_results_file_is_refused_before_work(tmp_path, monkeypatch):
    """(As root, permissions do not stop writes, so the refusals are provoked in-process.)"""
    from testbed.core.errors import ConfigError

    results = _run(tmp_path / "run")
    rows = results.read_text()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p) == str(results) else real(p, mode, **k))
    with pytest.raises(ConfigError, match="results.csv is not writable"):
        _run(tmp_path / "run", "snr_db=[4,10,13]")
    assert results.read_text() == rows
    monkeypatch.setattr(os, "access", real)
    real_open = os.open

    def refuse_lock(path, *a, **k):
        if str(path).endswith("run.lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", refuse_lock)
    with pytest.raises(ConfigError, match="cannot write in the run folder"):
        _run(tmp_path / "other")


def test_report_and_merge_survive_a_crafted_skipped_list_and_provenance(tmp_path):
    results = _run(tmp_path / "run")
    (tmp_path / "run" / "skipped.json").write_text('{"not": "a list"}')
    _rewrite(results, lambda rows: rows[0].update(provenance="<script>not json"))
    run = run_cli("report", str(tmp_path / "run"))
    assert run.returncode == 0 and "not a list of skipped points" in run.stderr, run.stderr[-2000:]
    assert "&lt;script&gt;" in (tmp_path / "run" / "report.html").read_text()
    (tmp_path / "run" / "skipped.json").write_text('[{"codec": 1}, 7, {"codec": "a", "channel": "b", "cbr": "1/16"}]')
    merged = run_cli("merge", str(tmp_path / "run"), "--out", str(tmp_path / "m"))
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert json.loads((tmp_path / "m" / "skipped.json").read_text())[0]["cbr"] == 0.0625


def test_plot_of_a_one_row_file_says_why_nothing_is_drawn(tmp_path):
    results = _run(tmp_path / "run", "snr_db=[4]", "save_images=0", "dataset.limit=1")
    run = run_cli("plot", str(results))
    _refused(run, "no figure drawn from 1 valid row", "two or more SNRs or CBRs")


# ---------------------------------------------------------------- nothing silently wrong
def test_a_refused_rerun_leaves_the_stored_config_as_it_was(tmp_path):
    out = tmp_path / "run"
    assert run_cli(*FAST, f"hydra.run.dir={out}").returncode == 0
    before = (out / ".hydra" / "config.yaml").read_text(), (out / ".hydra" / "overrides.yaml").read_text()
    run = run_cli(*FAST, f"hydra.run.dir={out}", "seed=1")
    _refused(run, "made with other settings", "hydra.run.dir")
    assert ((out / ".hydra" / "config.yaml").read_text(), (out / ".hydra" / "overrides.yaml").read_text()) == before
    assert "seed: 0" in before[0]


def test_report_of_two_runs_that_differ_by_seed_keeps_both(tmp_path):
    _run(tmp_path / "a")
    _run(tmp_path / "b", "seed=1")
    run = run_cli("report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep"))
    assert run.returncode == 0, run.stderr[-2000:]
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "uncoded / awgn [a]" in page and "uncoded / awgn [b]" in page
    assert "counted once" not in page  # no row of b was taken for a duplicate of a


def test_a_bad_run_setting_is_refused_on_the_command_line(tmp_path):
    _refused(run_cli(*FAST, "codec=[bpg_capacity]", "seed=1.5", f"hydra.run.dir={tmp_path}"), "seed=1.5", "whole number")
    assert not (tmp_path / "results.csv").exists()


@pytest.mark.parametrize("override,words", [
    ("seed=abc", ["seed='abc'", "whole number"]), ("threads=-1", ["threads=-1", "from 1 to"]),
    ("threads=100000", ["threads=100000", "from 1 to"]),
    ("snr_db=[1e6]", ["1e+06 dB is outside", "-50 to 100 dB"]), ("save_images=-2", ["save_images=-2"])])
def test_bad_run_settings_are_refused_before_work(override, words, tmp_path):
    from testbed.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        _run(tmp_path, "codec=[bpg_capacity]", override)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert not (tmp_path / "results.csv").exists()


def test_images_too_small_for_a_metric_or_too_large_are_refused_before_work(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (7, 7), (90, 20, 30)).save(folder / "tiny.png")
    Image.new("RGB", (64, 48), (10, 200, 30)).save(folder / "ok.png")
    base = [*FAST, "dataset=folder", f"dataset.path={folder}", "dataset.max_side=null"]
    _refused(run_cli(*base, "metric=[psnr,ms_ssim]", f"hydra.run.dir={tmp_path / 'a'}"),
             "metric ms_ssim needs images of at least 11 px", "tiny.png (7x7)")
    from testbed.core.errors import DatasetError

    with pytest.raises(DatasetError, match="ok.png.*above dataset.max_pixels"):
        _run(tmp_path / "b", "dataset=folder", f"dataset.path={folder}", "dataset.max_side=null", "dataset.max_pixels=1000")


def test_a_folder_dataset_reads_gifs_and_says_which_files_it_skipped(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("P", (40, 32)).save(folder / "anim.gif")
    Image.new("RGB", (40, 32), (1, 2, 3)).save(folder / "b.png")
    (folder / "notes.txt").write_text("x")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.new("RGB", (40, 32), (9, 9, 9)).save(elsewhere / "c.png")
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    results = _run(tmp_path / "run", "dataset=folder", f"dataset.path={folder}")
    rows = read_results(results)
    assert {r["image_id"] for r in rows} == {"anim.gif", "b.png"}
    skipped = json.loads(rows[0]["provenance"])["dataset"]["dataset_skipped"]
    assert "notes.txt (not an image suffix)" in skipped and any(e.startswith("linked/ (a link to a folder: not followed") for e in skipped)


# ---------------------------------------------------------------- corruption and concurrency
def _sweep(make_cfg, out, *extra):
    """The sweep in this process (what the CLI runs), for the many reruns of the corruption tests."""
    from testbed.run.sweep import run_sweep

    return run_sweep(make_cfg(*FAST, *extra), out)


@pytest.mark.parametrize("damage", ["cut_inside_quote", "maybe", "bad_number", "nan_snr", "duplicate"])
def test_a_damaged_results_file_is_repaired_on_rerun_and_nothing_valid_is_lost(damage, make_cfg, tmp_path):
    out = tmp_path / "run"
    results = _sweep(make_cfg, out, "snr_db=[1,4,7,10]")
    expected = {tuple(sorted((k, str(v)) for k, v in r.items() if k not in ("code_version",))) for r in read_results(results)}
    lines = results.read_text().split("\n")
    if damage == "cut_inside_quote":  # an editor cut inside the provenance cell and added a newline
        lines[2] = lines[2][: lines[2].index('"{') + 40]
    elif damage == "maybe":
        lines[2] = lines[2].replace(",True,", ",maybe,").replace(",False,", ",maybe,")
    elif damage == "bad_number":
        cells = next(csv.reader([lines[2]]))
        cells[9] = "0.06x"  # cbr_actual
        lines[2] = ",".join(f'"{c}"' if "," in c or '"' in c else c for c in cells).replace('"{', '"{')
    elif damage == "nan_snr":  # a NaN key would escape de-duplication and draw an "snr nan" figure
        cells = next(csv.reader([lines[2]]))
        cells[3] = "nan"  # snr_db
        lines[2] = ",".join(f'"{c}"' if "," in c or '"' in c else c for c in cells)
    else:
        lines.insert(3, lines[2])
    results.write_text("\n".join(lines))
    assert _sweep(make_cfg, out, "snr_db=[1,4,7,10]") == results
    again = read_results(results)
    assert len(again) == len(expected) == 8
    assert {tuple(sorted((k, str(v)) for k, v in r.items() if k not in ("code_version",))) for r in again} == expected
    if damage != "duplicate":
        side = (out / DAMAGED_FILE).read_text()
        assert side.startswith("line,reason,text") and "\n3," in side  # the line number is kept


def test_a_second_sweep_into_a_busy_folder_is_refused_and_a_stale_lock_taken_over(tmp_path):
    import socket

    out = tmp_path / "run"
    out.mkdir()
    lock = out / "run.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-12-01 10:00:00"}))
    _refused(run_cli(*FAST, f"hydra.run.dir={out}"), "is in use by another sweep", f"pid {os.getpid()}")
    assert not (out / "results.csv").exists()
    dead = max(os.getpid() + 10_000, 4_000_000)  # above pid_max: no such process
    lock.write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": "yesterday"}))
    _run(out)
    assert not lock.exists() and len(read_results(out / "results.csv")) == 4


def test_a_cut_original_is_written_again_on_rerun(tmp_path):
    out = tmp_path / "run"
    _run(out)
    original = next((out / "images" / "original").glob("*.png"))
    original.write_bytes(original.read_bytes()[:100])
    _run(out)
    with Image.open(original) as image:
        image.load()


def test_fuzz_random_truncation_and_corruption_never_lose_or_duplicate_a_valid_row(make_cfg, tmp_path):
    """Random cuts, byte flips, inserted newlines and duplicated lines in results.csv (and cut saved
    images): every rerun ends with one row per key of the grid, and every line the damage left
    intact is kept as it was. (A flipped digit that still parses is a valid row as far as any
    reader can tell; such a row is kept, not recomputed.)"""
    import random

    from testbed.run.results import row_key

    clean = tmp_path / "clean"
    clean_path = _sweep(make_cfg, clean, "snr_db=[1,4,7,10,13]")
    keys = sorted(row_key(r) for r in read_results(clean_path))
    assert len(keys) == 10
    rng = random.Random(13)
    for trial in range(12):
        out = tmp_path / f"t{trial}"
        shutil.copytree(clean, out)
        path = out / "results.csv"
        data = bytearray(path.read_bytes())
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["truncate", "flip", "newline", "duplicate", "delete"])
            at = rng.randrange(len(data))
            if kind == "truncate":
                data = data[:at]
            elif kind == "flip":
                data[at] = rng.choice(b',"\\x\n0')
            elif kind == "newline":
                data[at:at] = b"\n"
            elif kind == "delete":
                del data[at: at + rng.randint(1, 200)]
            else:
                lines = data.split(b"\n")
                if len(lines) > 2:
                    i = rng.randrange(1, len(lines))
                    lines.insert(i, lines[i])
                    data = bytearray(b"\n".join(lines))
        if b"\n" not in data or not data.startswith(b"image_id,"):  # the header itself destroyed: a foreign file
            continue
        path.write_bytes(bytes(data))
        intact = [line for line in bytes(data).split(b"\n")[1:-1] if line in clean_path.read_bytes().split(b"\n")]
        for image in list((out / "images").rglob("*.png"))[: rng.randint(0, 2)]:
            image.write_bytes(image.read_bytes()[: rng.randint(0, 200)])
        _sweep(make_cfg, out, "snr_db=[1,4,7,10,13]")
        assert sorted(row_key(r) for r in read_results(path)) == keys, f"trial {trial}: rows lost or duplicated"
        after = path.read_bytes().split(b"\n")
        assert all(line in after for line in intact), f"trial {trial}: an intact row was not kept"
