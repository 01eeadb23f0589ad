"""Prepared tests kept in a file (batch/artifact.py): a run that loads them grades exactly as
one that prepares, and a file that is stale, foreign or tampered with is refused in one
line, never unpickled."""
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from autograder.batch import artifact

from conftest import ACTIVATIONS, autograde

ONE = ["-a", "01_activations", "--no-figures"]


@pytest.fixture
def activations_class(tmp_path) -> Path:
    for student, module in ACTIVATIONS.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        shutil.copy(module, tmp_path / "class" / student / "activations.py")
    return tmp_path / "class"


def graded(out: Path) -> dict:
    """Everything a run decided: the gradebook and every student's results.json."""
    return {"grades.csv": (out / "grades.csv").read_text(),
            **{p.parent.name: json.loads(p.read_text())["tests"] for p in sorted(out.glob("*/results.json"))}}


def test_a_run_that_loads_the_prepared_tests_grades_as_one_that_prepares_them(activations_class, tmp_path):
    saved = tmp_path / "prepared" / "01.prepared"
    made = autograde("prepare", *ONE, "--prepared", saved)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "preparing the tests of 01_activations" in made.stdout and saved.is_file()
    again = autograde("prepare", *ONE, "--prepared", saved)
    assert f"prepared tests loaded from {saved}" in again.stdout

    loaded = autograde(activations_class, *ONE, "--prepared", saved, "--out", tmp_path / "loaded")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert f"prepared tests loaded from {saved}" in loaded.stdout
    assert "preparing the tests of" not in loaded.stdout
    fresh = autograde(activations_class, *ONE, "--prepared", tmp_path / "other.prepared",
                      "--out", tmp_path / "fresh")
    assert "preparing the tests of 01_activations" in fresh.stdout
    assert graded(tmp_path / "loaded") == graded(tmp_path / "fresh")
    assert 0 < graded(tmp_path / "loaded")["grades.csv"].count(",")


def forged(path: Path, marker: Path):
    """A file in the artifact's format whose unpickling would create `marker`."""
    class Touch:
        def __reduce__(self):
            return (Path.touch, (marker,))

    header = json.dumps({"fingerprint": "whatever"}).encode()
    path.write_bytes(artifact.FORMAT + header + b"\n" + b"0" * 64 + b"\n" + pickle.dumps(Touch()))


@pytest.mark.parametrize("how", ["forged", "another secret", "changed"])
def test_a_file_not_made_with_the_secret_is_refused_before_it_is_unpickled(activations_class, tmp_path, how):
    saved = tmp_path / "01.prepared"
    marker = tmp_path / "unpickled"
    if how == "forged":
        forged(saved, marker)
    else:
        env_secret = tmp_path / "other-secret"
        other = autograde_with(
            {"GRADKIT_SECRET": str(env_secret)} if how == "another secret" else {},
            "prepare", *ONE, "--prepared", saved)
        assert other.returncode == 0, other.stdout + other.stderr
        if how == "changed":  # a byte of the pickle changed
            data = bytearray(saved.read_bytes())
            data[-10] ^= 1
            saved.write_bytes(bytes(data))
    run = autograde(activations_class, *ONE, "--prepared", saved, "--out", tmp_path / "out")
    assert run.returncode == 0, run.stdout + run.stderr
    refusal = [line for line in run.stdout.splitlines() if str(saved) in line][0]
    assert "was not made with this secret, or was changed since: not used; preparing the tests again" in refusal
    assert not marker.exists()
    assert "preparing the tests of 01_activations" in run.stdout
    # Made again, with this secret: the next run loads it.
    assert "prepared tests loaded from" in autograde(
        activations_class, *ONE, "--prepared", saved, "--out", tmp_path / "out", "--force").stdout


def autograde_with(env: dict, *args):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return autograde(*args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v


def test_a_stale_file_is_refused_and_the_fingerprint_covers_what_makes_the_examples(tmp_path, monkeypatch):
    private = tmp_path / "private"
    base = artifact.fingerprint(["01_activations"], b"s", private, False)
    path = tmp_path / "a.prepared"
    artifact.save(path, {"examples": {}}, base, b"s")
    assert artifact.load(path, base, b"s") == {"examples": {}}
    others = [artifact.fingerprint(["01_activations"], b"t", private, False),
              artifact.fingerprint(["01_activations"], b"s", private, True),
              artifact.fingerprint(["01_activations", "02_backprop"], b"s", private, False)]
    monkeypatch.setattr(artifact, "version", lambda name: "0.0" if name == "hypothesis" else "1")
    others.append(artifact.fingerprint(["01_activations"], b"s", private, False))
    assert len({base, *others}) == 5
    with pytest.raises(artifact.Unusable, match="is stale: the tests, solutions"):
        artifact.load(path, others[-1], b"s")
    assert artifact.load(tmp_path / "none.prepared", base, b"s") is None
    path.write_bytes(b"\x80\x04 a pickle of something else")
    with pytest.raises(artifact.Unusable, match="is not prepared tests of this gradkit"):
        artifact.load(path, base, b"s")


def test_prepared_tests_are_never_read_from_the_submissions_or_output_folder(activations_class, tmp_path):
    for where in (activations_class / "alice" / "x.prepared", tmp_path / "out" / "x.prepared"):
        run = autograde(activations_class, *ONE, "--prepared", where, "--out", tmp_path / "out")
        assert run.returncode == 1
        assert run.stderr.strip().splitlines()[-1] == (
            f"Error: the prepared tests {where} are inside the submissions or output folder: "
            "keep them elsewhere (--prepared)")
