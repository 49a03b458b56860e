"""minicnn.distribute under ``mpiexec``: every test launches ``mpi_worker.py`` on 2 or 4 ranks
(4 on this 2-core machine: oversubscribed, which MPICH's hydra allows without a flag, as root
too) with a time limit, and reads back what each rank wrote."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the minicnn[mpi] extra (part of minicnn[test]) is not installed")

WORKER = Path(__file__).with_name("mpi_worker.py")
TIMEOUT = 120


def _mpiexec():
    # The mpich wheel puts mpiexec beside the venv's python; a system MPI's is on PATH.
    beside = Path(sys.executable).with_name("mpiexec")
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpi4py is installed but no mpiexec was found: pip install mpich")
    return found


def launch(ranks, scenario, out, *args, env=None, check=True):
    """Run the worker on ``ranks`` ranks (plain python for 0); returns the CompletedProcess."""
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
    command = [sys.executable, str(WORKER), scenario, str(out), *map(str, args)]
    if ranks:
        command = [_mpiexec(), "-n", str(ranks)] + command
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=environment)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def results(out, scenario, ranks):
    return [dict(np.load(out / f"{scenario}-rank{r}.npz")) for r in range(max(ranks, 1))]


def assert_ranks_identical(per_rank):
    for r, other in enumerate(per_rank[1:], start=1):
        assert other.keys() == per_rank[0].keys()
        for key, value in per_rank[0].items():
            np.testing.assert_array_equal(other[key], value, err_msg=f"rank {r} differs in {key}")


@pytest.mark.parametrize("ranks, samples", [(2, 200), (4, 195)])
def test_n_ranks_of_b_match_one_process_of_n_times_b(tmp_path, ranks, samples):
    # Global batch 64: 2 x 32 and 4 x 16, against 1 x 64 on the same data order.  195 samples
    # end each epoch with a global batch of 3, fewer than 4 ranks: the weighting of duplicated
    # samples must still give that batch's gradient.
    launch(ranks, "train", tmp_path / "mpi", "--samples", samples)
    launch(0, "train", tmp_path / "one", "--samples", samples)
    per_rank = results(tmp_path / "mpi", "train", ranks)
    assert_ranks_identical(per_rank)
    mine, single = per_rank[0], results(tmp_path / "one", "train", 0)[0]
    assert int(mine["size"]) == ranks and int(single["size"]) == 1
    assert mine["allreduce_calls"] == 2 * 4  # one Allreduce per step: 4 global batches, 2 epochs
    for key, value in single.items():
        if key.startswith(("w", "opt")) or key in ("evaluation", "prediction"):
            np.testing.assert_allclose(mine[key], value, rtol=2e-4, atol=2e-6, err_msg=key)
    keys = list(single["history_keys"])
    for name in ("val_accuracy", "val_loss"):  # validation: every sample counted once
        np.testing.assert_allclose(mine["history"][keys.index(name)], single["history"][keys.index(name)],
                                   rtol=1e-5, err_msg=name)


def test_batch_norm_and_dropout_stay_identical_on_every_rank(tmp_path):
    launch(4, "train", tmp_path, "--batch-norm", "plain", "--dropout")
    assert_ranks_identical(results(tmp_path, "train", 4))


def test_synchronized_batch_norm_on_2_ranks_matches_batch_norm_in_one_process(tmp_path):
    launch(2, "train", tmp_path / "mpi", "--batch-norm", "sync")
    launch(0, "train", tmp_path / "one", "--batch-norm", "plain")
    per_rank = results(tmp_path / "mpi", "train", 2)
    assert_ranks_identical(per_rank)
    single = results(tmp_path / "one", "train", 0)[0]
    for key, value in single.items():  # moving statistics (w2, w3) included
        if key.startswith(("w", "opt")) or key in ("evaluation", "prediction", "history"):
            np.testing.assert_allclose(per_rank[0][key], value, rtol=2e-4, atol=2e-6, err_msg=key)


def test_checkpoint_written_under_mpi_resumes_under_mpi_and_in_one_process(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    launch(2, "checkpoint", tmp_path / "w", "--shared", shared, "--phase", "write")
    written = results(tmp_path / "w", "checkpoint", 2)
    assert_ranks_identical(written)
    saved = written[0]
    # One writer: the checkpoint and the backup, and no temporary file left behind.
    assert list(saved["files"]) == ["backup", "ckpt.minicnn"]
    assert sorted(os.listdir(shared / "backup")) == ["latest.minicnn"]
    for ranks, where in ((2, "mpi"), (0, "one")):
        copy = shutil.copytree(shared, tmp_path / f"{where}-shared")  # each resume from epoch 2
        launch(ranks, "checkpoint", tmp_path / where, "--shared", copy, "--phase", "resume")
        per_rank = results(tmp_path / where, "checkpoint", ranks)
        assert_ranks_identical(per_rank)
        resumed = per_rank[0]
        assert int(resumed["epochs_run"]) == 1  # epochs 1 and 2 were restored, not rerun
        assert int(resumed["start_iterations"]) == int(saved["opt0"]) == 2 * -(-200 // 32)
        # 200 samples in batches of 16 per rank: 7 global steps on 2 ranks, 13 in one process
        assert int(resumed["opt0"]) == int(saved["opt0"]) + -(-200 // (16 * max(ranks, 1)))
        for key, value in saved.items():
            if key.startswith(("w", "opt")):
                np.testing.assert_array_equal(resumed["start_" + key], value, err_msg=key)
                np.testing.assert_array_equal(resumed["loaded_" + key], value, err_msg=key)
        assert bool(resumed["loaded_distributed"])


def test_per_rank_datasets_train_together_and_must_agree_on_their_length(tmp_path):
    launch(2, "per_rank_data", tmp_path)
    per_rank = results(tmp_path, "per_rank_data", 2)
    messages = [str(r.pop("message")) for r in per_rank]
    assert_ranks_identical(per_rank)  # other data and other initial weights on each rank
    assert int(per_rank[0]["opt0"]) == 2 * 4
    for message in messages:
        assert "every rank must run the same number of steps" in message and "[2, 3]" in message


def test_collectives(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    launch(2, "collectives", tmp_path, env=env)
    for r, got in enumerate(results(tmp_path, "collectives", 2)):
        np.testing.assert_array_equal(got["average"], [0.0, 1.5, 3.0])
        assert float(got["sum"]) == 3.0
        np.testing.assert_array_equal(got["max"], [1, 0])
        np.testing.assert_array_equal(got["gathered"], [[0, 0], [1, 1], [1, 1]])
        np.testing.assert_array_equal(got["broadcast"], np.ones(4, np.float32))
        assert int(got["object"]) == 0 and list(got["objects"]) == [0, 1]
        np.testing.assert_array_equal(got["local"], [r, 2])
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if "OMP_NUM_THREADS" not in os.environ:
            assert int(got["threads"]) == max(1, cores // 2)  # the cores divided between 2 ranks


def test_a_rank_that_raises_aborts_the_others(tmp_path):
    start = time.monotonic()
    done = launch(2, "raise", tmp_path, check=False)
    assert done.returncode != 0
    assert time.monotonic() - start < TIMEOUT / 2
    # the error comes first, on the abort's own line: MPI_Abort may cut the traceback after it short
    assert any("rank 1 fails on purpose" in line and "aborting all ranks" in line
               for line in done.stderr.splitlines()), done.stderr


def test_saving_on_rank_zero_only_fails_fast(tmp_path):
    done = launch(2, "save_on_rank_zero_only", tmp_path, "--shared", tmp_path,
                  env={"MINICNN_DISTRIBUTE_TIMEOUT": "1"}, check=False)
    assert done.returncode != 0
    assert "saving is collective: call it on every rank" in done.stderr
    assert not (tmp_path / "only-root.minicnn").exists()
