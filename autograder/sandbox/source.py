"""What the batch's tests load student modules from: a `RemoteModule` per module, its
sandbox spawned as soon as the source is made.

Takes the modules of one submission (name -> filename and source text, or a one-line
problem); gives modules, `UnusableModule`s that say why a module cannot be used, and the
list of what had to be stopped. It holds the student's time budget, which their modules
share.
"""
import shutil
import tempfile
from pathlib import Path

from autograder.sandbox.budget import Budget
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Zygote
from autograder.sandbox.remote import RemoteModule
from autograder.submissions.loader import UnusableModule


class SandboxSource:
    """What the tests load student modules from in the batch grader (plugin.SOURCE).

    modules: module name -> (filename, source text), or -> a one-line problem
    ("two or more files for activations: ..."). scratch_root: a folder for the sandboxes'
    working folders (a fresh temporary one when None); removed by close(). lanes: the
    student's lanes' shared spending and this one's index (budget.py), or None.
    """

    def __init__(self, zygote: Zygote, modules: dict, limits: Limits = Limits(),
                 scratch_root=None, lanes=None):
        self.zygote = zygote
        self.modules = dict(modules)
        self.limits = limits
        # The student's time from now on, all their modules together, in every lane (budget.py).
        self.budget = Budget(limits.student_budget, self._schedstats, limits.call_timeout, lanes,
                             self.modules)
        self._own_scratch = scratch_root is None
        self.scratch_root = Path(scratch_root or tempfile.mkdtemp(prefix="gradkit-scratch-"))
        self.scratch_dirs = []
        self._loaded = {}
        # What could not be imported or had to be stopped (timeouts, crashes), a line each,
        # for the student's feedback and the run's summary.
        self.stopped: list[str] = []
        # Every module's sandbox is spawned now, to import when a test first loads it: the
        # sandboxes confine themselves together, and much of that is waiting on the kernel.
        self._spawned = {}
        try:
            for name, entry in self.modules.items():
                if isinstance(entry, tuple):
                    self._spawned[name] = RemoteModule(self, name, *entry)
                    self._spawned[name]._spawn()
        except BaseException:
            self.close()
            raise

    def _schedstats(self) -> tuple[float, float]:
        """The run time and run_delay of the student's live sandboxes, summed."""
        stats = [m._sandbox.schedstat() for m in [*self._loaded.values(), *self._spawned.values()]
                 if isinstance(m, RemoteModule) and m._sandbox is not None and m._sandbox.alive]
        return sum(ran for ran, _ in stats), sum(delayed for _, delayed in stats)

    def expect(self, plan: dict):
        """The calls the test about to run is planned to make (plan.py): module name ->
        its requests; {} once the test ended."""
        for name, module in self._loaded.items():
            if isinstance(module, RemoteModule):
                module._expect(plan.get(name, []))

    def load(self, name: str, test_dir=None):
        if name in self._loaded:
            return self._loaded[name]
        entry = self.modules.get(name)
        if entry is None:
            module = UnusableModule(f"no {name}.py (or {name}.ipynb) found")
        elif isinstance(entry, str):
            module = UnusableModule(entry)
        else:
            module = self._spawned.pop(name, None) or RemoteModule(self, name, *entry)
            problem = module._start()
            if problem is not None:
                if problem not in self.stopped:  # the budget's one line may be there already
                    self.stopped.append(problem)
                module = UnusableModule(problem)
        self._loaded[name] = module
        return module

    def close(self):
        modules = [m for m in [*self._loaded.values(), *self._spawned.values()]
                   if isinstance(m, RemoteModule)]
        for module in modules:  # all end at once, then each is waited for
            module._terminate()
        for module in modules:
            module._close()
        self._loaded.clear()
        self._spawned.clear()
        self.budget.close()
        for path in self.scratch_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.scratch_dirs.clear()
        if self._own_scratch:
            shutil.rmtree(self.scratch_root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
