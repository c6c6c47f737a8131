"""`hydra/launcher=slurm`: our submitit launcher config, found inside the facies package."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from facies.runtime import compose
from tests.helpers import facies

pytest.importorskip(
    "hydra_plugins.hydra_submitit_launcher",
    reason="the SLURM launcher needs hydra-submitit-launcher (pip install 'facies[slurm]')",
)
SLURM_LAUNCHER = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"


def launcher_config(job: str, overrides: list[str]):
    return compose(job, ["hydra/launcher=slurm", *overrides], return_hydra_config=True)


def test_train_with_ddp_gets_one_slurm_task_per_device():
    cfg = launcher_config("train", ["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"])
    launcher = cfg.hydra.launcher
    assert launcher._target_ == SLURM_LAUNCHER
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert launcher.partition is None and launcher.timeout_min >= 60
    assert launcher.max_num_timeout == 0
    plugin = instantiate(launcher)  # what Hydra does with -m: every value resolves
    assert type(plugin).__name__ == "SlurmLauncher"
    assert plugin.params["tasks_per_node"] == 4 and plugin.params["nodes"] == 2


@pytest.mark.parametrize("job", ["train", "evaluate", "predict"])
def test_jobs_without_ddp_get_one_task(job):
    launcher = launcher_config(job, ["hydra.launcher.partition=gpu"]).hydra.launcher
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (1, 1, 1)
    assert launcher.partition == "gpu"


def test_the_plugin_writes_the_sbatch_file_we_expect(tmp_path, monkeypatch):
    """The plugin's own launch(), up to the point where sbatch would run."""
    import submitit
    from submitit.slurm.slurm import SlurmExecutor

    monkeypatch.chdir(tmp_path)  # the sweep folder is relative
    monkeypatch.setattr(SlurmExecutor, "affinity", classmethod(lambda cls: 2))  # "srun exists"
    scripts = []

    class Job:
        def results(self):
            return ["done"]

    def map_array(self, fn, *args):
        scripts.append(self._executor._make_submission_file_text("python -m submitit", "0"))
        return [Job() for _ in args[0]]

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", map_array)
    overrides = ["trainer=ddp", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=90"]
    cfg = launcher_config("train", [*overrides, "hydra.job.name=train"])  # as `facies` sets it
    plugin = instantiate(cfg.hydra.launcher)
    plugin.setup(hydra_context=None, task_function=None, config=cfg)
    assert plugin.launch([["model=unet"], ["model=unet_residual"]], initial_job_idx=0) == [
        "done",
        "done",
    ]
    (script,) = scripts
    for line in (
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=2",
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=90",
        "#SBATCH --job-name=facies-train",
        "#SBATCH --cpus-per-task=8",
    ):
        assert line in script, script


def test_the_installed_command_finds_the_launcher_config(tmp_path):
    run = facies("train", "hydra/launcher=slurm", "trainer=ddp", "--cfg", "all",
                 "-p", "hydra.launcher", "--resolve", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"_target_: {SLURM_LAUNCHER}" in run.stdout
    assert "tasks_per_node: 2" in run.stdout and "name: facies-train" in run.stdout
