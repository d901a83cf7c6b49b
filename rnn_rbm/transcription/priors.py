"""Symbolic priors for decoding: the interface the decoders call, and two numpy priors.

A prior is a frame-level model of symbolic frames: given the frames decoded so far it
scores candidate next frames. The decoders (decoders.py) know it only through `Prior`, so
an RNN-RBM, RNN-NADE or LSTM from rnn_rbm/models plugs in by wrapping its `step` (the
recurrence) and its per-frame log-probability in these three methods; the numpy priors
here serve the tests and as baselines: independent notes (BernoulliPrior), and a two-state
Markov chain per note (MarkovPrior), counted on training rolls by note_transitions.

Frames and candidates are time-major rows: column i is MIDI pitch 21 + i, float32 0/1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Prior(Protocol):
    """What a decoder needs of a symbolic model: P(next frame | frames so far).

    A state stands for a history of symbolic frames. It is a value: `advance` returns a
    new state and must leave the old one as it was, because a beam search scores several
    continuations of one state (a state object may be shared by many hypotheses).

    exact: True when log_prob gives normalised log-probabilities. False when it gives
        log-probabilities up to an offset that depends on the state only (the RNN-RBM's
        minus free energy, whose log Z changes with the history): greedy decoding compares
        candidates of one state only and is unaffected; the beam search compares states,
        so it renormalises such scores over the candidate set (decoders.beam).
    """

    exact: bool

    def initial_state(self) -> Any:
        """Returns: the state before any frame (an empty history)."""
        ...

    def log_prob(self, state: Any, candidates: np.ndarray) -> np.ndarray:
        """candidates: float32 of 0/1, shape (num_candidates, num_pitches), each row a
        possible next frame.

        Returns: float64, shape (num_candidates,): log P(candidate | history of `state`)
        (up to a per-state offset when `exact` is False); -inf for an impossible frame.
        """
        ...

    def advance(self, state: Any, frame: np.ndarray) -> Any:
        """frame: float32 of 0/1, shape (num_pitches,), the symbolic frame that follows.

        Returns: the state for the history extended by `frame` (a new object).
        """
        ...


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a probability of 0 is a valid way to forbid: log 0 = -inf
        return np.log(p)


def _independent_log_prob(log_on: np.ndarray, log_off: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Sum over notes of log P(note on) or log P(note off) as each candidate has it.

    Returns: float64, shape (num_candidates,).
    """
    # np.where rather than a matrix product: 0 * -inf would be nan where a note is forbidden.
    return np.where(np.asarray(candidates) > 0, log_on, log_off).sum(axis=1)


@dataclass(frozen=True)
class BernoulliPrior:
    """Notes independent of each other and of the past: P(v) = prod_i p_i^v_i (1 - p_i)^(1 - v_i).

    probabilities: float, shape (num_pitches,), P(note i on). A probability of 0 forbids a
    note (log_prob -inf for every frame holding it), one of 1 requires it.
    """

    probabilities: np.ndarray
    exact: ClassVar[bool] = True

    def initial_state(self) -> None:
        """Returns: None: this prior has no memory."""
        return None

    def log_prob(self, state: None, candidates: np.ndarray) -> np.ndarray:
        """Returns: float64, shape (num_candidates,), exact log-probabilities."""
        p = np.asarray(self.probabilities, dtype=np.float64)
        return _independent_log_prob(_log(p), _log(1.0 - p), candidates)

    def advance(self, state: None, frame: np.ndarray) -> None:
        """Returns: None."""
        return None


@dataclass(frozen=True)
class NoteTransitions:
    """A two-state (off, on) Markov chain per note, counted on training rolls.

    matrix: float64, shape (num_pitches, 2, 2): matrix[i, a, b] = P(note i in state b at
        the next frame | state a now); each matrix[i, a] sums to 1.
    occupancy: float64, shape (num_pitches, 2): the fraction of frames note i spends off
        and on; it serves as the distribution of the first frame.
    """

    matrix: np.ndarray
    occupancy: np.ndarray


def note_transitions(rolls: list[np.ndarray], frames_per_step: int = 1, smoothing: float = 1.0) -> NoteTransitions:
    """Counts each note's off/on transitions between consecutive frames of `rolls`.

    rolls: training rolls, each (num_steps, num_pitches), time-major, 0/1 (column i = MIDI
        pitch 21 + i).
    frames_per_step: counts at the rate of audio frames, each step repeated this many times
        (features.roll_to_frames), for decoding audio frames finer than steps.
    smoothing: added to every count (Laplace), so that a note never seen, or never seen
        to change, keeps non-zero probabilities.

    Returns: NoteTransitions.
    """
    if not len(rolls):
        raise ValueError("note_transitions needs at least one roll")
    num_pitches = np.shape(rolls[0])[1]
    counts = np.zeros((num_pitches, 2, 2))
    steps = np.zeros((num_pitches, 2))
    for roll in rolls:
        on = np.asarray(roll) > 0
        now, after = on[:-1], on[1:]
        for a in (0, 1):
            for b in (0, 1):
                counts[:, a, b] += ((now == a) & (after == b)).sum(axis=0)
        steps[:, 1] += on.sum(axis=0)
        steps[:, 0] += (~on).sum(axis=0)
    # Inside a step repeated over its audio frames a note stays as it is: frames_per_step - 1
    # more self-transitions for every step.
    counts[:, 0, 0] += (frames_per_step - 1) * steps[:, 0]
    counts[:, 1, 1] += (frames_per_step - 1) * steps[:, 1]
    counts += smoothing
    occupancy = steps + smoothing
    return NoteTransitions(matrix=counts / counts.sum(axis=2, keepdims=True),
                           occupancy=occupancy / occupancy.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class MarkovPrior:
    """Each note a two-state Markov chain of its own, independent of the other notes:
    P(v_t | v_{t-1}) = prod_i matrix[i, v_{t-1,i}, v_{t,i}], the first frame from occupancy.
    The HMM decoder's model of music (decoders.hmm), as a prior for greedy and beam.

    transitions: from note_transitions on rolls at the prior's step rate (frames_per_step=1).
    """

    transitions: NoteTransitions
    exact: ClassVar[bool] = True

    def initial_state(self) -> None:
        """Returns: None, standing for "no frame yet"."""
        return None

    def log_prob(self, state: np.ndarray | None, candidates: np.ndarray) -> np.ndarray:
        """state: the previous frame, bool of shape (num_pitches,), or None at the start.

        Returns: float64, shape (num_candidates,), exact log-probabilities.
        """
        if state is None:
            rows = self.transitions.occupancy
        else:
            rows = self.transitions.matrix[np.arange(len(state)), state.astype(np.int64)]
        return _independent_log_prob(_log(rows[:, 1]), _log(rows[:, 0]), candidates)

    def advance(self, state: np.ndarray | None, frame: np.ndarray) -> np.ndarray:
        """Returns: the new state: `frame` as bool, shape (num_pitches,) (a new array)."""
        return np.asarray(frame) > 0
