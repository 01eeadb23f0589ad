"""Figures for 06 clipping, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools
import math

import numpy as np

from autograder.grading.figures import short
from autograder.grading.testing import student_module
from reference import clipping as ref

clipping = student_module("clipping")

STEPS, MAX_NORM = 50, 0.5


def global_norm(grads):
    with np.errstate(all="ignore"):
        return math.sqrt(sum(float(np.sum(np.square(g))) for g in grads))


def train(clip):
    """The graded test's exploding network trained with `clip` on every step (None: no
    clipping): (the global gradient norm before clipping at every step, the losses)."""
    norms = []

    def recording(grads):
        norms.append(global_norm(grads))
        return grads if clip is None else clip(grads)

    losses = ref.train_deep_network(clip=recording, steps=STEPS)
    return norms, losses


@functools.cache
def first_gradients():
    """The gradients of the run's first step, the same whatever the clipping."""
    found = []

    def keep(grads):
        found.append([g.copy() for g in grads])
        raise StopIteration

    try:
        ref.train_deep_network(clip=keep, steps=1)
    except StopIteration:
        pass
    return tuple(found[0])


@functools.cache
def unclipped():
    norms, losses = train(None)
    return tuple(norms), tuple(losses)


@functools.cache
def reference():
    norms, losses = train(lambda grads: ref.clip_by_global_norm(grads, MAX_NORM)[0])
    return tuple(norms), tuple(losses)


def figure_training_with_and_without_clipping(clipping, figure):
    """Gradient norm in training"""
    figure.axes("step", "global gradient norm before clipping", log_y=True)
    # Rounding alone takes a correct clipping's run off the reference's after 30-odd steps
    # (the run is chaotic): the curves are not compared point by point, step 1 is.
    figure.compare = False
    figure.caption = (
        "A deep tanh network with large weights and learning rate: unclipped, its gradient "
        f"explodes; with your clip_by_global_norm(grads, {MAX_NORM}) no step is longer than "
        f"lr · {MAX_NORM}, and it trains.")
    norms, losses = unclipped()
    figure.baseline("unclipped", range(1, len(norms) + 1), norms)
    norms, losses = reference()
    figure.reference("clipped", range(1, len(norms) + 1), norms)
    reference_loss = losses[-1]
    with figure.guard():
        grads = first_gradients()
        clipped, _ = clipping.clip_by_global_norm([g.copy() for g in grads], MAX_NORM)
        got, want = global_norm(np.asarray(g, dtype=float) for g in clipped), MAX_NORM
        right = abs(got - want) <= 1e-6 * want
        figure.note(f"Step 1: global norm {global_norm(grads):.3g}, clipped by yours to {got:.3g}"
                    + ("." if right else f", not {want:g}."), ok=right)
    with figure.yours("clipped") as mine:
        norms, losses = [], []

        def clip(grads):
            clipped = clipping.clip_by_global_norm(grads, MAX_NORM)
            if not isinstance(clipped, (tuple, list)) or len(clipped) != 2:
                raise TypeError(f"clip_by_global_norm returned {short(clipped)}, expected (clipped, norm)")
            return [np.asarray(g, dtype=float) for g in clipped[0]]

        def recording(grads):
            norms.append(global_norm(grads))
            return clip(grads)

        try:
            losses = ref.train_deep_network(clip=recording, steps=STEPS)
        finally:
            mine.plot(range(1, len(norms) + 1), norms)
        final = losses[-1] if losses else math.nan
        figure.note(f"Loss after {len(losses)} steps: {final:.3g} (the reference's: "
                    f"{reference_loss:.3g}).", ok=None)
