"""The sandbox boundary: student code runs in an isolated process and only plain data
comes back. Correct code behaves as it does locally; hostile code is contained."""
import builtins
import os
import re
import socket
import textwrap
import time
import warnings

import numpy as np
import pytest

from autograder import kit

from autograder.sandbox import cgroups
from autograder.grading.checks import assert_close
from autograder.submissions.discover import ModuleProblem
from autograder.submissions.imports import is_allowed
from autograder.submissions.loader import UnusableModule, module_from_source
from autograder.sandbox.confine import DEVICES, SYSTEM
from autograder.sandbox.frames import MAX_WARNINGS
from autograder.sandbox.limits import (Limits, MissingFunction, StudentCrash, StudentError,
                                       StudentTimeout)
from autograder.sandbox.plan import Planned
from autograder.sandbox.process import Zygote, default_hidden_paths
from autograder.sandbox.remote import RemoteModule
from autograder.sandbox.replies import call_request
from autograder.sandbox.source import SandboxSource
from autograder.sandbox.wire import Handle, encode

QUICK = Limits(call_timeout=1.0, student_budget=20.0, memory=1 << 30)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A submissions folder and an output folder, as the batch grader has them."""
    root = tmp_path_factory.mktemp("batch")
    submissions, output = root / "submissions", root / "output"
    for folder in (submissions, output):
        folder.mkdir()
        folder.chmod(0o777)  # a refusal must come from the sandbox, not from these modes
    (submissions / "alice").mkdir()
    (submissions / "alice" / "solutions.py").write_text("ANSWER = 42\n")
    (output / "grades.csv").write_text("alice,10\n")
    return submissions, output


# Every test runs against the best isolation this machine offers and, where it does not
# need namespaces, also without them, as on an instructor's laptop without user namespaces.
@pytest.fixture(scope="module", params=["auto", "rlimits"])
def zygote(request, folders):
    with Zygote(hidden=default_hidden_paths(*folders), isolation=request.param) as zygote:
        yield zygote


# The tests of what namespaces confine run against the best isolation only: run without
# namespaces too, they could only skip.
WITH_NAMESPACES = pytest.mark.parametrize("zygote", ["auto"], indirect=True)


@pytest.fixture
def isolated(zygote):
    if zygote.isolation != "namespaces":
        pytest.skip(zygote.isolation_report())
    return zygote


@pytest.fixture
def load(zygote, tmp_path):
    """load(source, limits=QUICK, name="student") -> the module as the tests see it."""
    sources = []

    def load(source, limits=QUICK, name="student"):
        source = SandboxSource(zygote, {name: (f"/submissions/alice/{name}.py",
                                           textwrap.dedent(source))}, limits, tmp_path)
        sources.append(source)
        return source.load(name, tmp_path)

    yield load
    for source in sources:
        source.close()


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read().replace(b"\0", b" ") and alive(int(pid)):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to collect it is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def eventually(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


# --------------------------------------------------------------------------- faithful

def test_a_correct_module_gives_exactly_the_local_results(load):
    path = kit.SOLUTIONS / "01_activations" / "activations.py"
    local = module_from_source(path.read_text(), str(path), "activations")
    remote = load(path.read_text(), name="activations")
    assert isinstance(remote, RemoteModule)
    x = np.random.default_rng(0).normal(scale=20, size=(3, 4))
    for name in ["sigmoid", "tanh", "relu", "selu", "sigmoid_grad", "relu_grad"]:
        got, want = getattr(remote, name)(x), getattr(local, name)(x)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want), name
    assert np.array_equal(remote.elu(x, 0.5), local.elu(x, 0.5))
    assert remote.sigmoid(np.array(0.0)).shape == ()
    assert remote.SELU_ALPHA == local.SELU_ALPHA


def test_missing_or_unusable_modules_fail_with_the_local_messages(zygote, tmp_path):
    sources = {"syntax": ("s/syntax.py", "def f(:\n"),
               "forbidden": ("forbidden.py", "import torch\n"),
               "raising": ("raising.py", "x = 1 / 0\n"),
               "exiting": ("exiting.py", "import sys\nsys.exit(3)\n")}
    modules = dict(sources, twice="two or more files for twice: a/twice.py, b/twice.py")
    with SandboxSource(zygote, modules, QUICK, tmp_path) as source:
        for name, (filename, text) in sources.items():
            with pytest.raises(ModuleProblem) as local:
                module_from_source(text, filename, name)
            module = source.load(name, tmp_path)
            assert isinstance(module, UnusableModule)
            with pytest.raises(ModuleProblem, match="^" + str(local.value) + "$"):
                module.f()
        with pytest.raises(ModuleProblem, match="two or more files for twice"):
            source.load("twice", tmp_path).f()
        with pytest.raises(ModuleProblem, match="no absent.py"):
            source.load("absent", tmp_path).f()


def test_process_ending_imports_make_the_module_unusable(load):
    assert "ended the sandbox while being imported (exit status 7)" in \
        load("import os\nos._exit(7)\n")._reason
    endless = load("while True:\n    pass\n", Limits(start_timeout=1.0))
    assert "did not finish importing within 1 s" in endless._reason


def _cpu_seconds(pid: int) -> float:
    """The CPU time of `pid` and of the children it reaped."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def test_a_sandbox_spawned_ahead_runs_no_student_code_until_its_module_is_loaded(zygote, tmp_path):
    """Every module's sandbox is spawned with the source, but an import that never ends
    must not burn the processor the tests run on before a test asks for the module."""
    limits = Limits(start_timeout=1.0)
    with SandboxSource(zygote, {"spin": ("spin.py", "while True:\n    pass\n")}, limits,
                       tmp_path) as source:
        supervisor = source._spawned["spin"]._sandbox.pid
        time.sleep(1.0)
        children = open(f"/proc/{supervisor}/task/{supervisor}/children").read().split()
        assert len(children) == 1
        assert _cpu_seconds(int(children[0])) < 0.3
        assert "did not finish importing within 1 s" in source.load("spin", tmp_path)._reason


def test_names_a_module_lacks_or_hides_are_not_reachable(load):
    module = load("""
        def f():
            return 1
        def _private():
            return 2
        """)
    assert module.f() == 1
    with pytest.raises(MissingFunction, match="^student.py has no function g$"):
        module.g()
    assert not hasattr(module, "g")
    for name in ["_private", "__globals__", "__code__", "__wrapped__"]:
        with pytest.raises(AttributeError):
            getattr(module, name)


def test_caches_of_any_structure_round_trip_to_the_backward_function(load):
    module = load("""
        import numpy as np
        class Cache:
            def __init__(self, x):
                self.x = x
        def forward(x, kind):
            cache = {"dict": {"x": x, "obj": Cache(x)}, "tuple": (x, Cache(x)),
                     "object": Cache(x), "generator": (v for v in x)}[kind]
            return 2 * x, cache
        def backward(dout, cache):
            if isinstance(cache, dict):
                x = cache["obj"].x
            elif isinstance(cache, tuple):
                x = cache[1].x
            elif isinstance(cache, Cache):
                x = cache.x
            else:
                x = np.array(list(cache))
            return dout * x
        """)
    x = np.array([1.0, 2.0, 3.0])
    for kind in ["dict", "tuple", "object", "generator"]:
        out, cache = module.forward(x, kind)
        assert np.array_equal(out, 2 * x)
        if kind == "dict":
            assert np.array_equal(cache["x"], x) and isinstance(cache["obj"], Handle)
        elif kind == "tuple":
            assert np.array_equal(cache[0], x) and isinstance(cache[1], Handle)
        else:
            assert isinstance(cache, Handle)
        assert np.array_equal(module.backward(np.ones(3), cache), x), kind


def test_caches_the_grader_drops_are_freed_in_the_sandbox(load):
    module = load("""
        import gc, weakref
        class Cache:
            pass
        LIVE = weakref.WeakSet()
        def forward():
            cache = Cache()
            LIVE.add(cache)
            return cache
        def live():
            gc.collect()
            return len(LIVE)
        """)
    caches = [module.forward() for _ in range(20)]
    assert module.live() == 20
    del caches[:15]
    module.live()  # the releases travel with the next call
    assert module.live() == 5


def test_warnings_are_raised_again_in_the_grader(load):
    module = load("""
        import warnings
        import numpy as np
        class Mine(UserWarning):
            pass
        def overflow(x):
            return np.exp(x)
        def custom():
            warnings.warn("careful", Mine)
            return 1
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert module.overflow(np.array([1000.0]))[0] == np.inf
        assert module.custom() == 1
    assert [(w.category, str(w.message)) for w in caught] == [
        (RuntimeWarning, "overflow encountered in exp"), (RuntimeWarning, "Mine: careful")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="overflow"):
            module.overflow(np.array([1000.0]))
        module.overflow(np.array([1.0]))


def test_in_place_changes_of_array_arguments_show_in_the_callers_arrays(load):
    module = load("""
        def scale(x, factor=2.0, *, out=None):
            x *= factor
            if out is not None:
                out["w"][0] = -1.0
            return None
        def pure(x):
            return x * 2
        """)
    x, w = np.arange(3.0), np.ones(2)
    view = np.arange(6.0)[::2]
    module.scale(x)
    module.scale(view, 3.0, out={"w": w})
    assert np.array_equal(x, [0.0, 2.0, 4.0])
    assert np.array_equal(view, [0.0, 6.0, 12.0]) and np.array_equal(w, [-1.0, 1.0])
    y = np.arange(3.0)
    module.pure(y)
    assert np.array_equal(y, np.arange(3.0))
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        module.scale(frozen)


EXCEPTIONS = """
    class Custom(Exception):
        pass
    class Failed(BaseException):  # named like pytest's outcome exceptions
        pass
    def value():
        raise ValueError("negative input")
    def key():
        return {}["missing"]
    def todo():
        raise NotImplementedError("sigmoid is not implemented yet")
    def zero():
        return 1 / 0
    def custom():
        raise Custom("mine")
    def failed():
        raise Failed("looks like a pytest failure")
    def skipped():
        import unittest
        raise unittest.SkipTest("skip me")
    def exit():
        raise SystemExit(2)
    def interrupt():
        raise KeyboardInterrupt
    def stop():
        raise StopIteration
    """


@pytest.mark.parametrize("function, kind, message", [
    ("value", ValueError, r"^negative input \(student.py line 7, in value\)$"),
    ("key", KeyError, r"'missing' \(student.py line 9, in key\)"),
    ("todo", NotImplementedError, r"^sigmoid is not implemented yet \(student.py line 11"),
    ("zero", ZeroDivisionError, r"^division by zero \(student.py line 13, in zero\)$"),
    ("custom", StudentError, r"^student.custom raised Custom: mine \(student.py line 15"),
    ("failed", StudentError, r"raised Failed: looks like a pytest failure"),
    ("skipped", StudentError, r"raised SkipTest: skip me"),
    ("exit", StudentError, r"raised SystemExit: called sys.exit\(2\)"),
    ("interrupt", StudentError, r"raised KeyboardInterrupt"),
    ("stop", StudentError, r"raised StopIteration"),
])
def test_exceptions_come_back_as_builtins_or_as_student_errors(load, function, kind, message):
    module = load(EXCEPTIONS)
    with pytest.raises(Exception) as raised:
        getattr(module, function)()
    assert type(raised.value) is kind
    assert raised.match(message)
    assert module.value.__name__ == "value"


# --------------------------------------------------------------------------- hostile

def test_exits_and_crashes_during_a_call_end_only_that_sandbox(load):
    module = load("""
        import os, sys, ctypes
        def hard_exit():
            os._exit(9)
        def segfault():
            ctypes.string_at(0)
        def ok():
            return "alive"
        """)
    with pytest.raises(StudentCrash, match=r"^student.hard_exit ended the sandbox process "
                                           r"\(exit status 9\)$"):
        module.hard_exit()
    assert module.ok() == "alive"
    with pytest.raises(StudentCrash, match="killed by SIGSEGV"):
        module.segfault()
    assert module.ok() == "alive"


def test_an_endless_loop_times_out_and_the_next_call_gets_a_fresh_sandbox(load):
    module = load("""
        import time
        STATE = []
        def remember():
            STATE.append(1)
            return len(STATE)
        def spin():
            while True:
                pass
        def cache():
            return object()
        def use(c):
            return 1
        """)
    assert module.remember() == 1 and module.remember() == 2
    old = module.cache()
    started = time.monotonic()
    with pytest.raises(StudentTimeout, match=r"^student.spin did not return within 1 s$"):
        module.spin()
    assert time.monotonic() - started < 3
    assert module.remember() == 1
    with pytest.raises(StudentError, match="stopped after a timeout or a crash"):
        module.use(old)
    assert module.use(module.cache()) == 1


def test_a_function_that_timed_out_is_not_run_again(load):
    module = load("""
        def spin():
            while True:
                pass
        def quick():
            return 1
        """, Limits(call_timeout=1.0))
    with pytest.raises(StudentTimeout, match=r"^student.spin did not return within 1 s$"):
        module.spin()
    started = time.monotonic()
    with pytest.raises(StudentTimeout, match=r"^student.spin was not run: an earlier call did "
                                             r"not return within 1 s$"):
        module.spin()
    assert time.monotonic() - started < 0.1
    assert module.quick() == 1


def test_the_source_lists_what_it_had_to_stop_or_could_not_import(zygote, tmp_path):
    modules = {"looping": ("looping.py", "def spin():\n    while True:\n        pass\n"),
               "broken": ("broken.py", "def f(x)\n    return x\n"),
               "fine": ("fine.py", "def f(x):\n    return x\n")}
    with SandboxSource(zygote, modules, Limits(call_timeout=1.0), tmp_path) as source:
        with pytest.raises(StudentTimeout):
            source.load("looping").spin()
        with pytest.raises(ModuleProblem):
            source.load("broken").f(1)
        assert source.load("fine").f(1) == 1
        assert source.stopped[0] == "looping.spin did not return within 1 s"
        assert len(source.stopped) == 2 and "broken.py" in source.stopped[1]


def test_the_time_budget_of_a_student_ends_the_calls_of_all_their_modules(zygote, tmp_path):
    modules = {"looping": ("looping.py", textwrap.dedent("""
                   def spin():
                       while True:
                           pass
                   def spin_too():
                       while True:
                           pass
                   """)),
               "fine": ("fine.py", "def quick():\n    return 1\n"),
               "later": ("later.py", "def quick():\n    return 1\n")}
    with SandboxSource(zygote, modules, Limits(call_timeout=1.0, student_budget=1.5),
                       tmp_path) as source:
        looping, fine = source.load("looping"), source.load("fine")
        assert fine.quick() == 1
        with pytest.raises(StudentTimeout, match="did not return within 1 s"):
            looping.spin()
        with pytest.raises(StudentTimeout, match=r"^looping.spin_too was stopped: the time "
                                                 r"budget of 1.5 s per student is used up$"):
            looping.spin_too()
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match=r"^fine.quick was not run: the time budget"):
            fine.quick()
        assert time.monotonic() - started < 0.1
        with pytest.raises(ModuleProblem, match="the time budget of 1.5 s per student is used up"):
            source.load("later").quick()  # never imported: the budget is spent
        assert len(source.stopped) == 2 and source.stopped[0].startswith("looping.spin did not")
        assert re.fullmatch(r"the time budget of 1.5 s per student is used up \(1.\d s of the "
                            r"student's code running, 0.\d s of the grader's work on its "
                            r"answers\): every test after that failed without running",
                            source.stopped[1])


def test_the_graders_own_work_on_a_students_answers_counts_in_their_budget(load):
    module = load("""
        def answer():
            return 1
        """, Limits(call_timeout=1.0, student_budget=1.0))
    assert module.answer() == 1
    started = time.process_time()
    while time.process_time() - started < 1.0:  # a test's work on the answer, in this process
        pass
    with pytest.raises(StudentTimeout, match="student.answer was not run: the time budget"):
        module.answer()


def test_an_import_the_budget_ends_says_so(load):
    with pytest.raises(ModuleProblem, match="the time budget of 1.5 s per student is used up"):
        load("import time\ntime.sleep(5)\n", Limits(student_budget=1.5)).f()


def test_a_fork_bomb_is_held_at_the_process_limit(load):
    module = load("""
        import os, time
        def bomb():
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    children += 1
            except OSError:
                return children
        """, Limits(call_timeout=5.0, max_processes=16))
    assert module.bomb() < 16


def test_a_memory_bomb_fails_in_the_sandbox_only(load):
    module = load("""
        import numpy as np
        def huge_array():
            return np.ones(2**28)
        def grow():
            hoard = []
            while True:
                hoard.append(bytearray(2**24))
        def ok():
            return 1
        """, Limits(call_timeout=10.0, memory=512 * 2**20))
    with pytest.raises(StudentError, match="ran out of memory"):
        module.huge_array()
    with pytest.raises(StudentError, match="ran out of memory|ended the sandbox"):
        module.grow()
    assert module.ok() == 1


def test_a_sandboxs_processes_share_one_memory_limit(zygote, load):
    if "memory is limited per process" in zygote.isolation_report():
        pytest.skip(zygote.isolation_report())
    module = load("""
        import os, select, time
        def hold(processes, mib):
            # One child after another fills `mib` MiB (within its own RLIMIT_AS) and keeps
            # it; how many are still alive once all have tried.
            children = []
            for _ in range(processes):
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    hoard = b"x" * (mib << 20)
                    os.write(w, b"1")
                    select.select([], [], [])
                os.close(w)
                os.read(r, 1)  # filled, or killed
                children.append(pid)
            time.sleep(0.2)
            return sum(os.waitpid(pid, os.WNOHANG)[0] == 0 for pid in children)
        """, Limits(call_timeout=20.0, memory=1 << 30))
    try:
        held = module.hold(4, 400)
    except StudentCrash:  # the kernel's choice fell on the student process itself
        return
    assert held <= 2, f"{held} processes of one sandbox held 400 MiB each under a 1 GiB limit"


def test_memory_groups_go_with_their_sandboxes(tmp_path):
    with Zygote() as zygote:
        if "memory is limited per process" in zygote.isolation_report():
            pytest.skip(zygote.isolation_report())
        folder = f"{cgroups._own_group()[1]}/gradkit-{zygote.pid}"
        for _ in range(3):
            with SandboxSource(zygote, {"m": ("m.py", "def f():\n    return 1\n")}, QUICK,
                               tmp_path) as source:
                assert source.load("m", tmp_path).f() == 1
        assert eventually(lambda: not [e for e in os.listdir(folder) if e.isdigit()])
    assert not os.path.exists(folder)


def test_huge_return_values_are_refused(load):
    module = load("""
        import numpy as np
        def big():
            return np.zeros(2**18)
        def fine():
            return np.zeros(2**10)
        """, Limits(call_timeout=5.0, max_output=2**20))
    with pytest.raises(StudentError, match=r"too large to send back \(over the 1 MiB limit\)"):
        module.big()
    assert module.fine().shape == (1024,)


def test_a_forged_reply_is_refused(load):
    module = load("""
        import os, struct
        def sockets():
            return [fd for fd in range(64) if os.path.exists(f"/proc/self/fd/{fd}")
                    and os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")]
        def forge(size, payload):
            for fd in sockets():
                os.write(fd, struct.pack("<Q", size) + payload.encode("latin-1"))
            return 1
        """)
    with pytest.raises(StudentError, match="malformed reply"):
        module.forge(2**40, "")
    with pytest.raises(StudentError, match="malformed reply"):
        module.forge(7, "\x80\x04\x95pickle")
    assert len(module.sockets()) == 1  # a fresh sandbox answers: its one socket


def test_a_reply_forged_with_a_flood_of_warnings_is_refused(load):
    """Re-raising them would take the grader seconds."""
    module = load("""
        import os, struct
        def text(s):
            return b"s" + struct.pack("<I", len(s)) + s.encode()
        def flood(n):
            warning = b"l" + struct.pack("<I", 2) + text("UserWarning") + text("x")
            message = (b"GW1d" + struct.pack("<I", 3) + struct.pack("<I", 8) + b"warnings"
                       + b"l" + struct.pack("<I", n) + warning * n
                       + struct.pack("<I", 7) + b"mutated" + b"l" + struct.pack("<I", 0)
                       + struct.pack("<I", 5) + b"value" + b"i" + struct.pack("<q", 1))
            for fd in range(3, 64):
                if os.path.exists(f"/proc/self/fd/{fd}") and \\
                        os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                    os.write(fd, struct.pack("<Q", len(message)) + message)
            return 1
        """)
    with pytest.raises(StudentError, match="malformed reply"):
        module.flood(MAX_WARNINGS + 1)
    with warnings.catch_warnings(record=True) as caught:  # a fresh sandbox, as many as it sends
        warnings.simplefilter("always")
        assert module.flood(MAX_WARNINGS) == 1
    assert len(caught) == MAX_WARNINGS


def test_an_object_equal_to_everything_stays_in_the_sandbox(load):
    module = load("""
        import numpy as np
        class Anything(np.ndarray):
            def __eq__(self, other):
                return True
        class Always:
            __eq__ = lambda self, other: True
            __array__ = lambda self, *a, **k: __import__("numpy").zeros(3)
        def sneaky():
            return Always()
        def subclass():
            return np.zeros(3).view(Anything)
        """)
    for got in (module.sneaky(), module.subclass()):
        assert isinstance(got, Handle)
        assert got != 0 and not (got == np.zeros(3)).any()
        with pytest.raises(AssertionError, match="expected a numpy array"):
            assert_close(got, np.zeros(3), "sneaky()")


def test_patching_numpy_and_builtins_stays_in_the_sandbox(load):
    module = load("""
        import builtins
        import numpy as np
        def patch():
            np.allclose = lambda *args, **kwargs: True
            np.testing.assert_allclose = lambda *args, **kwargs: None
            builtins.abs = lambda x: 0
            return np.allclose(1, 2), abs(-5)
        """)
    assert module.patch() == (True, 0)
    assert not np.allclose(1, 2) and abs(-5) == 5 and builtins.abs is abs
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(1, 2)


def test_imports_outside_numpy_and_the_standard_library_are_refused_at_run_time(load):
    module = load("""
        import importlib
        def dynamic(name):
            importlib.import_module(name)
            return name
        def grader():
            return __import__("autograder.grading.plugin")
        """)
    with pytest.raises(ImportError, match="importing torch is not allowed: a student module "
                                          "may import only numpy and the standard library"):
        module.dynamic("torch")
    with pytest.raises(ImportError, match="importing autograder is not allowed"):
        module.grader()
    for name in ["json", "decimal", "fractions", "numpy.linalg", "ctypes", "statistics"]:
        assert module.dynamic(name) == name


def test_the_student_process_holds_no_module_it_could_not_import_itself(load):
    """The grader's own modules (the wire codec, the sandbox server) are not in sys.modules."""
    module = load("""
        import sys
        def held():
            return sorted(sys.modules)
        """)
    held = module.held()
    assert "numpy" in held and not any(name.startswith("autograder") for name in held)
    assert [name for name in held if not is_allowed(name) and name != "__main__"] == []


def test_student_output_never_reaches_the_grader(load, capfd):
    module = load("""
        import os, sys
        def noisy():
            print("to stdout" * 1000)
            print("to stderr", file=sys.stderr)
            os.write(1, b"raw fd 1")
            os.write(2, b"raw fd 2")
            return 1
        """)
    assert module.noisy() == 1
    out, err = capfd.readouterr()
    assert "to std" not in out + err and "raw fd" not in out + err


def test_a_background_process_dies_with_its_sandbox(load, zygote, tmp_path):
    marker = f"{time.time_ns() % 10**6 + 10**6}.5"
    source = SandboxSource(zygote, {"bg": ("bg.py", textwrap.dedent(f"""
        import os, subprocess
        def start():
            subprocess.Popen(["sleep", "{marker}"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if os.fork() == 0:
                os.setsid()
                os.execvp("sleep", ["sleep", "{marker}"])
            return 1
        """))}, QUICK, tmp_path)
    assert source.load("bg", tmp_path).start() == 1
    assert eventually(lambda: len(processes_with(f"sleep {marker}")) == 2)
    source.close()
    assert eventually(lambda: not processes_with(f"sleep {marker}"))


def test_a_student_process_that_clears_its_parent_death_signal_still_ends_with_its_sandbox(
        zygote, tmp_path):
    marker = f"{time.time_ns() % 10**6 + 10**6}.25"
    source = SandboxSource(zygote, {"stay": ("stay.py", textwrap.dedent(f"""
        import ctypes, subprocess, time
        def stay():
            ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none
            subprocess.Popen(["sleep", "{marker}"])
            while True:
                time.sleep(5)
        """))}, QUICK, tmp_path)
    with pytest.raises(StudentTimeout):
        source.load("stay", tmp_path).stay()
    source.close()
    assert eventually(lambda: not processes_with(f"sleep {marker}"))


# --------------------------------------------------------------------------- isolation

@WITH_NAMESPACES
def test_a_sandbox_sees_the_system_the_standard_library_and_numpy_and_nothing_else(
        isolated, load, folders):
    submissions, output = folders
    module = load("""
        import os
        def listing(path):
            try:
                return sorted(os.listdir(path))
            except OSError as error:
                return type(error).__name__
        def read(path):
            try:
                with open(path) as f:
                    return f.read()
            except OSError as error:
                return type(error).__name__
        def where():
            return os.getcwd()
        """)
    # Only the folders on the way to what is shown: any other copy of the kit, other
    # students' files, homes and temporary folders are absent, wherever they lie.
    shown = [*SYSTEM, *DEVICES, *isolated.keep, module.where(), "/proc"]
    assert set(module.listing("/")) <= {p.split("/")[1] for p in shown}
    site_packages = os.path.dirname(os.path.realpath(os.path.dirname(np.__file__)))
    assert set(module.listing(site_packages)) <= {"numpy", "numpy.libs"}
    for folder in [kit.SOLUTIONS, kit.ROOT / "reference", submissions, output, "/home", "/var"]:
        assert module.listing(str(folder)) in ([], "FileNotFoundError"), folder
    for path in [submissions / "alice" / "solutions.py", output / "grades.csv",
                 kit.SOLUTIONS / "01_activations" / "activations.py", "/etc/passwd"]:
        assert module.read(str(path)) == "FileNotFoundError", path


def test_the_grader_environment_does_not_reach_a_sandbox(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADKIT_SECRET_TOKEN", "s3cret")
    with Zygote() as zygote, SandboxSource(zygote, {"env": (
            "env.py", "import os\ndef env():\n    return dict(os.environ)\n")}, QUICK,
            tmp_path) as source:
        environment = source.load("env", tmp_path).env()
    assert "s3cret" not in str(environment) and "GRADKIT_SECRET_TOKEN" not in environment


@WITH_NAMESPACES
def test_writes_outside_the_scratch_folder_change_nothing(isolated, load, folders):
    submissions, output = folders
    before = sorted(p.name for p in output.iterdir())
    probe = f"/tmp/gradkit-probe-{os.getpid()}"
    module = load("""
        import os
        def write(path):
            try:
                with open(path, "w") as f:
                    f.write("pwned")
                return "written"
            except OSError as error:
                return type(error).__name__
        def scratch():
            with open("notes.txt", "w") as f:
                f.write("fine")
            return open("notes.txt").read(), os.getcwd()
        """)
    targets = [output / "grades.csv", output / "new.csv", submissions / "alice" / "solutions.py",
               probe, "/dev/shm/probe", "/var/tmp/probe", kit.ROOT / "probe.txt",
               os.path.join(np.__file__, "..", "probe.py"), "/etc/probe"]
    for target in targets:
        assert module.write(str(target)) != "written", target
    assert sorted(p.name for p in output.iterdir()) == before
    assert (output / "grades.csv").read_text() == "alice,10\n"
    assert (submissions / "alice" / "solutions.py").read_text() == "ANSWER = 42\n"
    assert not os.path.exists(probe) and not (kit.ROOT / "probe.txt").exists()
    assert module.scratch()[0] == "fine"


@WITH_NAMESPACES
def test_there_is_no_network(isolated, load):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    module = load("""
        import socket
        def connect(port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5)
                return "connected"
            except OSError as error:
                return type(error).__name__
        """)
    try:
        assert module.connect(server.getsockname()[1]) != "connected"
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


@WITH_NAMESPACES
def test_the_student_cannot_undo_its_confinement(isolated, load):
    module = load("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        def umount(path):
            return libc.umount2(path.encode(), 2), ctypes.get_errno()
        def who():
            status = open("/proc/self/status").read()
            caps = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")]
            return os.getuid(), os.getpid(), sorted(p for p in os.listdir("/proc")
                                                    if p.isdigit()), caps[0]
        def setuid():
            try:
                os.setuid(0)
                return "root"
            except OSError as error:
                return type(error).__name__
        """)
    for point in ["/", "/usr", os.path.realpath(os.path.dirname(np.__file__))]:
        assert module.umount(point) == (-1, 1), point  # EPERM: the new root stays as it is
    uid, pid, processes, capabilities = module.who()
    assert uid != 0 and pid == 1 and processes == ["1"]
    assert int(capabilities, 16) == 0
    assert module.setuid() != "root"  # EPERM as root-dropped, EINVAL (unmapped) in a user ns


def test_degraded_mode_still_kills_what_the_student_started(tmp_path):
    """Without namespaces (an instructor's laptop), timeouts and cleanup still hold."""
    marker = f"{time.time_ns() % 10**6 + 2 * 10**6}.5"
    with Zygote(isolation="rlimits") as zygote:
        assert "rlimits only" in zygote.isolation_report()
        source = SandboxSource(zygote, {"bg": ("bg.py", textwrap.dedent(f"""
            import os, subprocess
            def start():
                subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
                return 1
            def spin():
                while True:
                    pass
            """))}, QUICK, tmp_path)
        module = source.load("bg", tmp_path)
        assert module.start() == 1
        assert eventually(lambda: processes_with(f"sleep {marker}"))
        with pytest.raises(StudentTimeout):
            module.spin()
        assert eventually(lambda: not processes_with(f"sleep {marker}"))
        assert module.start() == 1
        source.close()
        assert eventually(lambda: not processes_with(f"sleep {marker}"))


def descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            stack += children
    return found


def test_closing_the_zygote_leaves_no_process_behind(tmp_path):
    with Zygote() as zygote:
        source = SandboxSource(zygote, {"m": ("m.py", textwrap.dedent("""
            import os, time
            def spawn():
                for _ in range(3):
                    if os.fork() == 0:
                        time.sleep(600)
                return 1
            """))}, QUICK, tmp_path)
        assert source.load("m", tmp_path).spawn() == 1
        family = [zygote.pid] + descendants(zygote.pid)
        assert len(family) >= 6  # zygote, supervisor, student, its 3 children
    assert eventually(lambda: not any(alive(pid) for pid in family))
    source.close()  # after the zygote: nothing left to kill, and no error


def test_the_zygote_holds_numpy_but_none_of_the_graders_modules(zygote):
    with open(f"/proc/{zygote.pid}/maps") as f:
        mapped = f.read()
    assert "numpy" in mapped
    assert "torch" not in mapped and "hypothesis" not in mapped


def test_processes_forked_from_the_grader_share_one_zygote(zygote, tmp_path):
    """The batch grader forks a child per submission; their sandboxes stay distinct."""
    modules = {"m": ("m.py", "import os\ndef uid():\n    return os.getuid()\n")}
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            with SandboxSource(zygote, modules, QUICK, tmp_path / "child") as source:
                module = source.load("m", tmp_path)
                os.write(write, f"{module._sandbox.serial} {module.uid()}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with SandboxSource(zygote, modules, QUICK, tmp_path / "parent") as source:
        module = source.load("m", tmp_path)
        mine = (module._sandbox.serial, module.uid())
        os.waitpid(child, 0)
    with os.fdopen(read) as f:
        theirs = tuple(int(n) for n in f.read().split())
    assert mine[0] != theirs[0]
    if zygote.uid == 0:
        assert mine[1] != theirs[1]


def test_numpy_and_lazy_standard_library_imports_work_under_the_default_limits(load):
    module = load("""
        import numpy as np
        def work():
            import decimal, fractions, json, statistics
            a = np.random.default_rng(0).normal(size=(50, 50))
            return float(np.linalg.svd(a, compute_uv=False)[0] > 0), json.dumps([1])
        """, Limits())
    assert module.work() == (1.0, "[1]")


# Calls sent ahead (plan.py): a test's planned requests go to the sandbox in batches, and
# each real call is checked against the plan before an answer is used.

AHEAD = """
    import os, time
    import numpy as np
    calls = []
    def double(x):
        calls.append(x)
        return 2 * x
    def zeros(n):
        return np.zeros(n)
    def many(n):
        return [0] * n
    def spin_on_one(x):
        while x == 1:
            pass
        return x
    def sleepy(x):
        time.sleep(0.4)
        return x
    def exit_on_one(x):
        if x == 1:
            os._exit(3)
        return x
    def seen():
        return calls
    """


def planned(*calls, reply=None) -> list[Planned]:
    """The plan of `calls` (function, x), the solution's reply to each of size `reply`."""
    return [Planned(encode(call_request(function, (x,), {})), reply) for function, x in calls]


@pytest.fixture
def ahead(zygote, tmp_path):
    with SandboxSource(zygote, {"m": ("m.py", textwrap.dedent(AHEAD))}, QUICK, tmp_path) as source:
        yield source, source.load("m", tmp_path)


def test_calls_sent_ahead_answer_exactly_the_calls_made(ahead):
    source, module = ahead
    source.expect({"m": planned(("double", 1), ("double", 2), ("double", 3))})
    assert module.double(1) == 2
    assert module.double(5) == 10  # not the plan's double(2): the plan is left here
    source.expect({})
    assert module.double(7) == 14
    # What was sent ahead ran (double(2), double(3)) but reached no test.
    assert module.seen() == [1, 2, 3, 5, 7]
    assert source.stopped == []


def test_a_call_no_plan_can_know_is_made_in_its_turn(ahead):
    source, module = ahead
    source.expect({"m": [*planned(("double", 1)), Planned(None, None), *planned(("double", 3))]})
    assert [module.double(1), module.double(2), module.double(3)] == [2, 4, 6]
    source.expect({})
    assert module.seen() == [1, 2, 3]


def test_a_call_sent_ahead_and_never_made_is_held_against_nobody(ahead):
    source, module = ahead
    source.expect({"m": planned(("spin_on_one", 0), ("spin_on_one", 1))})
    assert module.spin_on_one(0) == 0
    source.expect({})  # the test ended: spin_on_one(1) never comes back, and is dropped
    assert source.stopped == []
    assert module.spin_on_one(2) == 2  # in a fresh sandbox, and not refused as timed out


def test_a_batch_slower_than_one_call_limit_is_made_again_one_call_at_a_time(ahead):
    source, module = ahead
    # Five calls of 0.4 s: each within the 1 s limit, the batch not.
    source.expect({"m": planned(*[("sleepy", x) for x in range(5)])})
    assert [module.sleepy(x) for x in range(5)] == list(range(5))
    source.expect({})
    assert source.stopped == []


def test_a_crash_later_in_a_batch_is_blamed_on_its_own_call_only(ahead):
    source, module = ahead
    source.expect({"m": planned(("exit_on_one", 0), ("exit_on_one", 1))})
    assert module.exit_on_one(0) == 0
    with pytest.raises(StudentCrash, match=r"m.exit_on_one ended the sandbox process \(exit status 3\)"):
        module.exit_on_one(1)
    source.expect({})
    assert source.stopped == ["m.exit_on_one ended the sandbox process (exit status 3)"]


def test_a_sandbox_runs_on_the_processors_of_the_process_that_started_it(load):
    everywhere = os.sched_getaffinity(0)
    one = max(everywhere)
    os.sched_setaffinity(0, {one})
    try:
        module = load("""
            import os
            def processors():
                return sorted(os.sched_getaffinity(0))
            """)
        assert module.processors() == [one]
    finally:
        os.sched_setaffinity(0, everywhere)


@pytest.mark.parametrize("call, error, message", [
    ("spin_on_one", StudentTimeout, r"m.spin_on_one did not return within 1 s"),
    ("exit_on_one", StudentCrash, r"m.exit_on_one ended the sandbox process \(exit status 3\)"),
])
def test_the_first_call_of_a_batch_that_gets_no_answer_is_blamed_without_a_second_run(
        ahead, call, error, message):
    source, module = ahead
    source.expect({"m": planned((call, 1), (call, 0))})
    with pytest.raises(error, match=message):
        getattr(module, call)(1)
    assert module._runs == 1  # the sandbox that ran it, and no other
    source.expect({})
    assert len(source.stopped) == 1


@pytest.mark.parametrize("plan", [planned(("zeros", 10**6), ("double", 1), reply=(100, 1)),
                                  [Planned(None, (100, 1))]],
                         ids=["sent ahead", "made alone"])
def test_a_reply_far_larger_than_the_solutions_is_refused_unread_and_stops_its_module(
        ahead, plan):
    source, module = ahead
    source.expect({"m": plan})
    started = time.process_time()
    with pytest.raises(StudentError, match=r"^m.zeros replied 8.0 MB where a correct answer "
                                           r"is about 100 bytes; m was stopped after a reply "
                                           r"far larger than a correct answer$"):
        module.zeros(10**6)
    assert time.process_time() - started < 0.1  # its 8 MB were never read
    with pytest.raises(StudentError, match=r"^m.double was not run: m was stopped after"):
        module.double(1)
    source.expect({})
    assert len(source.stopped) == 1 and source.stopped[0].startswith("m.zeros replied 8.0 MB")


def test_a_reply_of_too_many_values_is_refused_by_the_decoder(ahead):
    source, module = ahead
    source.expect({"m": planned(("many", 100), ("many", 2000), reply=(1000, 100))})
    assert module.many(100) == [0] * 100  # 16 times the solution's 100 values, at most
    with pytest.raises(StudentError, match=r"^m.many replied more than 1,600 values \(items "
                                           r"of lists, tuples and dicts\) where a correct "
                                           r"answer has 100;"):
        module.many(2000)


def test_a_reply_within_its_allowance_or_to_an_unplanned_call_is_taken(ahead):
    source, module = ahead
    # An argument changed in place comes back with the reply: the request's size is allowed.
    source.expect({"m": planned(("zeros", 8000), reply=(100, 1))})
    assert module.zeros(8000).shape == (8000,)  # 64 KB: the floor
    source.expect({})
    assert module.zeros(10**6).shape == (10**6,)  # no plan: the usual limits
    assert source.stopped == []
