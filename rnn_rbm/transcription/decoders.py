"""From note posteriors to a piano roll: threshold, per-note HMM, and the paper's product of
experts decoded greedily or by beam search.

Every decoder is a function of (posteriors, prior or transitions) and knows nothing of
where either came from. posteriors: float, shape (num_frames, num_pitches), time-major,
P(note i sounds in audio frame t) from an acoustic model that treats notes independently:
Pa(v) = prod_i p_i^v_i (1 - p_i)^(1 - v_i). Every decoder returns a roll of audio frames,
float32 of 0/1 of the same shape (column i = MIDI pitch 21 + i); features.frames_to_roll
turns it into symbolic steps.

The product of experts (Boulanger-Lewandowski, Bengio & Vincent 2012, Section 7) decodes
frame t as the candidate v minimising

    cost(v) = -log Pa(v) - alpha * log Ps(v | history),

alpha the prior's weight, over the 2^k subsets of the k notes the acoustic model finds
most likely (the others off). Ps is a symbolic prior (priors.Prior) over symbolic steps;
with `frames_per_step` audio frames per step, all frames of a step are scored with the
same history, and the history grows by one step when the step's frames are decoded,
a note counting in the step if decoded in at least half of its frames (the paper's rule,
features.frames_to_roll). greedy keeps the single best frame at each time; beam keeps the
`width` best partial sequences (Boulanger-Lewandowski, Bengio & Vincent, ICASSP 2013,
"High-dimensional sequence transduction").

The candidate sets and their -log Pa are computed for all frames at once (numpy). The
prior, which may be a TensorFlow model and then costs the most, is asked once per frame
for each distinct state (greedy: one) and advanced once per step for each distinct
(state, step frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_rbm.transcription.features import frames_to_roll
from rnn_rbm.transcription.priors import NoteTransitions, Prior

DECODERS = ("threshold", "hmm", "greedy", "beam")

# Posteriors are clipped to [POSTERIOR_FLOOR, 1 - POSTERIOR_FLOOR] so that a note the acoustic
# model calls certain costs a finite amount: a strong enough prior may still overrule it.
POSTERIOR_FLOOR = 1e-7


def threshold(posteriors: np.ndarray, level: float = 0.5) -> np.ndarray:
    """The acoustic model alone: a note is on where its posterior exceeds `level` (tuned on
    validation; 0.5 is the most probable frame under Pa).

    posteriors: (num_frames, num_pitches), time-major, probabilities.
    Returns: float32 of 0/1, shape (num_frames, num_pitches).
    """
    return (np.asarray(posteriors) > level).astype(np.float32)


def _clipped(posteriors: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(posteriors, dtype=np.float64), POSTERIOR_FLOOR, 1.0 - POSTERIOR_FLOOR)


def _subsets(k: int) -> np.ndarray:
    """Returns: bool, shape (2^k, k): row c holds bit j of c, so row 0 is the empty set and
    candidate c switches on the j-th most likely note when bit j of c is set."""
    return ((np.arange(2 ** k)[:, None] >> np.arange(k)) & 1).astype(bool)


def _top_notes(posteriors: np.ndarray, k: int) -> np.ndarray:
    """Returns: int64, shape (num_frames, k): each frame's k most likely notes, most likely
    first, ties to the lower pitch."""
    num_pitches = posteriors.shape[1]
    if not 0 <= k <= num_pitches:
        raise ValueError(f"k = {k} candidate notes: must be between 0 and {num_pitches}")
    return np.argsort(-posteriors, axis=1, kind="stable")[:, :k]


def _expand(top: np.ndarray, subsets: np.ndarray, num_pitches: int) -> np.ndarray:
    """Returns: float32 of 0/1, shape (2^k, num_pitches): the candidate frames of one audio
    frame whose k most likely notes are `top` (int, shape (k,))."""
    frames = np.zeros((len(subsets), num_pitches), dtype=np.float32)
    frames[:, top] = subsets
    return frames


def candidates(posteriors_frame: np.ndarray, k: int) -> np.ndarray:
    """Every subset of the k notes most likely in one audio frame, the other notes off.

    posteriors_frame: (num_pitches,) probabilities.
    Returns: float32 of 0/1, shape (2^k, num_pitches); row c switches on the j-th most
    likely note (ties to the lower pitch) when bit j of c is set, so row 0 is silence.
    """
    posteriors_frame = np.asarray(posteriors_frame)
    top = _top_notes(posteriors_frame[None, :], k)[0]
    return _expand(top, _subsets(k), len(posteriors_frame))


def acoustic_log_probs(posteriors: np.ndarray, k: int, pool: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """log Pa of every candidate of every frame, for all frames at once; with `pool`, of every
    group of `pool` consecutive frames (a symbolic step) holding one candidate throughout:
    the product of its frames' Pa, so that the step's frames pool their evidence.

    posteriors: (num_frames, num_pitches), time-major, probabilities (clipped to
    [POSTERIOR_FLOOR, 1 - POSTERIOR_FLOOR]).
    Returns: (top, int64 of shape (units, k), each unit's (frame's or step's) k most likely
    notes as `candidates` orders them, by their summed log-odds; log_pa, float64 of shape
    (units, 2^k), natural-log probability under Pa of each unit's candidate c, all 88 notes
    of all its frames counted). units: num_frames, or ceil(num_frames / pool), the last
    step judged on the frames it has.
    """
    p = _clipped(posteriors)
    # log Pa(v) = sum_i log(1 - p_i) + sum_{i on} logit(p_i); only the top-k logits vary.
    logits = np.log(p) - np.log1p(-p)
    base = np.log1p(-p).sum(axis=1)
    if pool > 1 and len(p):
        starts = np.arange(0, len(p), pool)
        logits, base = np.add.reduceat(logits, starts, axis=0), np.add.reduceat(base, starts)
    top = _top_notes(logits, k)
    return top, base[:, None] + np.take_along_axis(logits, top, axis=1) @ _subsets(k).T.astype(np.float64)


def _prior_scores(prior: Prior, state, frames: np.ndarray, renormalise: bool) -> np.ndarray:
    """log Ps of the candidate `frames` given `state`, float64 of shape (num_candidates,);
    with `renormalise`, as a distribution over those candidates alone (log-softmax)."""
    scores = np.asarray(prior.log_prob(state, frames), dtype=np.float64)
    if renormalise:
        top = scores.max()
        if np.isfinite(top):
            scores = scores - (top + np.log(np.exp(scores - top).sum()))
    return scores


def greedy(posteriors: np.ndarray, prior: Prior | None, alpha: float, k: int,
           frames_per_step: int = 1, per_step: bool = False) -> np.ndarray:
    """The paper's decoder: at each audio frame in turn, the candidate of least cost
    -log Pa(v) - alpha * log Ps(v | decoded history) (module docstring).

    posteriors: (num_frames, num_pitches), time-major, probabilities.
    prior: called only when alpha != 0 (None is then allowed: the acoustic model alone,
        which is threshold 0.5 restricted to the k candidate notes).
    k: candidate notes per frame (2^k candidates; the paper's 7).
    frames_per_step: audio frames per symbolic step of the prior.
    per_step: decide once per symbolic step on the pooled evidence of its audio frames
        (acoustic_log_probs with pool), every frame of the step then the step's choice,
        instead of frame by frame (the paper's). Possible where a step's audio frames are
        known: here steps have a fixed length.

    Returns: float32 of 0/1, shape (num_frames, num_pitches); ties go to the candidate with
    the lower index in `candidates`' order.
    """
    posteriors = np.asarray(posteriors)
    num_frames, num_pitches = posteriors.shape
    pool, units_per_step = _units(frames_per_step, per_step)
    top, log_pa = acoustic_log_probs(posteriors, k, pool)
    subsets = _subsets(k)
    decoded = np.zeros((len(top), num_pitches), dtype=np.float32)
    state = prior.initial_state() if alpha else None
    for t in range(len(top)):
        frames = _expand(top[t], subsets, num_pitches)
        cost = -log_pa[t]
        if alpha:
            cost = cost - alpha * _prior_scores(prior, state, frames, renormalise=False)
        decoded[t] = frames[np.argmin(cost)]
        step_start = t + 1 - units_per_step
        if alpha and (t + 1) % units_per_step == 0 and t + 1 < len(top):
            state = prior.advance(state, frames_to_roll(decoded[step_start: t + 1], units_per_step)[0])
    return _unpooled(decoded, pool, num_frames)


def _units(frames_per_step: int, per_step: bool) -> tuple[int, int]:
    """Returns: (audio frames pooled into one decoded unit, decoded units per symbolic step):
    (frames_per_step, 1) deciding per step, (1, frames_per_step) frame by frame."""
    return (frames_per_step, 1) if per_step else (1, frames_per_step)


def _unpooled(decoded: np.ndarray, pool: int, num_frames: int) -> np.ndarray:
    """Returns: the decoded units (frames, or steps of `pool` frames) as `num_frames` audio frames."""
    return np.repeat(decoded, pool, axis=0)[:num_frames] if pool > 1 else decoded


def beam(posteriors: np.ndarray, prior: Prior | None, alpha: float, k: int, width: int,
         frames_per_step: int = 1, per_step: bool = False) -> np.ndarray:
    """Beam search for the sequence of least total cost sum_t [-log Pa(v_t) - alpha * log
    Ps(v_t | v_<t)] over the same candidates as greedy (module docstring): at each audio
    frame every kept partial sequence is extended by every candidate, and the `width`
    cheapest extensions are kept. Width 1 is greedy; a width of at least (2^k)^(num_frames
    - 1) searches exhaustively.

    A prior whose `exact` is False is renormalised over each frame's candidates, so that
    sequences with different histories (different log Z) compare fairly. per_step: as greedy's.

    Returns: float32 of 0/1, shape (num_frames, num_pitches), the cheapest sequence kept at
    the end; ties go to the earlier-kept sequence, then the lower candidate index.
    """
    if width < 1:
        raise ValueError(f"beam width {width}: must be at least 1")
    posteriors = np.asarray(posteriors)
    num_frames, num_pitches = posteriors.shape
    if num_frames == 0:
        return np.zeros((0, num_pitches), dtype=np.float32)
    pool, units_per_step = _units(frames_per_step, per_step)
    top, log_pa = acoustic_log_probs(posteriors, k, pool)
    units = len(top)
    subsets = _subsets(k)
    renormalise = bool(alpha) and not prior.exact
    scores = np.zeros(1)  # log Pa + alpha log Ps so far, of each kept sequence
    states = [prior.initial_state() if alpha else None]
    this_step = np.zeros((1, units_per_step, num_pitches), dtype=bool)  # each sequence's frames of the current step
    parents, choices = [], []
    for t in range(units):
        frames = _expand(top[t], subsets, num_pitches)
        total = scores[:, None] + log_pa[t][None, :]
        if alpha:
            # States are shared by every sequence that has not finished a step since they parted.
            by_state = {}
            for h, state in enumerate(states):
                if id(state) not in by_state:
                    by_state[id(state)] = _prior_scores(prior, state, frames, renormalise)
                total[h] += alpha * by_state[id(state)]
        flat = total.ravel()
        kept = np.argsort(-flat, kind="stable")[:width]
        parent, choice = kept // len(frames), kept % len(frames)
        scores = flat[kept]
        parents.append(parent)
        choices.append(choice)
        this_step = this_step[parent]
        this_step[:, t % units_per_step] = frames[choice] > 0
        if alpha and (t + 1) % units_per_step == 0 and t + 1 < units:
            advanced, new_states = {}, []
            for h, p in enumerate(parent):
                step = frames_to_roll(this_step[h], units_per_step)[0]
                key = (int(p), step.tobytes())
                if key not in advanced:
                    advanced[key] = prior.advance(states[p], step)
                new_states.append(advanced[key])
            states = new_states
        else:
            states = [states[p] for p in parent]
    decoded = np.zeros((units, num_pitches), dtype=np.float32)
    h = 0  # the best, as kept is sorted by score
    for t in range(units - 1, -1, -1):
        decoded[t, top[t]] = subsets[choices[t][h]]
        h = parents[t][h]
    return _unpooled(decoded, pool, num_frames)


def hmm(posteriors: np.ndarray, transitions: NoteTransitions, scaled: bool = True, weight: float = 1.0) -> np.ndarray:
    """Smooths each note on its own with a two-state (off, on) HMM, decoded by Viterbi
    (Poliner & Ellis 2007; the paper's "HMM smoothing").

    The hidden chain is `transitions` (priors.note_transitions, counted at the rate of audio
    frames), its first frame drawn from transitions.occupancy. The acoustic posterior
    P(state | audio) is not a likelihood: as in hybrid network/HMM recognisers (Bourlard &
    Morgan 1994) it is divided by the state's prior, occupancy, giving P(audio | state) up
    to a factor common to both states, so the note's frequency is not counted twice
    (once learnt by the acoustic model, once in the chain). On a single frame this is
    exactly threshold 0.5.

    scaled: False uses the posteriors themselves as emission probabilities, which counts
        the prior twice and so favours "off" for rare notes; it is the safer choice when
        the acoustic model was trained on other music than `transitions` were counted on,
        where dividing a small posterior by a smaller occupancy would switch rare notes on.
        Choose on validation.
    weight: the chain's log transition probabilities are multiplied by it, as a language
        model's weight in speech recognition: the acoustic frames of one note are not
        independent evidence, so the chain may deserve less (or more) say than one
        transition per frame. 0 leaves each frame to its own emission (with scaled False,
        threshold 0.5); 1 is the chain as counted. Choose on validation.

    posteriors: (num_frames, num_pitches), time-major, probabilities (clipped as in
    acoustic_log_probs).
    Returns: float32 of 0/1, shape (num_frames, num_pitches), the most probable state path
    of each note; ties go to "off".
    """
    p = _clipped(posteriors)
    num_frames, num_pitches = p.shape
    if num_frames == 0:
        return np.zeros((0, num_pitches), dtype=np.float32)
    log_occupancy = np.log(transitions.occupancy)
    log_matrix = weight * np.log(transitions.matrix)
    emission = np.stack([np.log1p(-p), np.log(p)], axis=-1)  # (num_frames, num_pitches, 2)
    if scaled:
        emission = emission - log_occupancy
    best = log_occupancy + emission[0]  # log-probability of the best path ending in each state
    back = np.zeros((num_frames, num_pitches, 2), dtype=np.int8)
    for t in range(1, num_frames):
        through = best[:, :, None] + log_matrix  # (num_pitches, from, to)
        back[t] = through.argmax(axis=1)
        best = through.max(axis=1) + emission[t]
    path = np.zeros((num_frames, num_pitches), dtype=np.int64)
    path[-1] = best.argmax(axis=1)
    notes = np.arange(num_pitches)
    for t in range(num_frames - 1, 0, -1):
        path[t - 1] = back[t, notes, path[t]]
    return path.astype(np.float32)


@dataclass(frozen=True)
class DecoderConfig:
    """Which decoder, and its settings; all of them tuned on validation only.

    name: one of DECODERS.
    level: threshold's level.
    alpha: the prior's weight in greedy and beam (0: the acoustic model alone).
    candidates: notes per frame whose subsets greedy and beam try (2^candidates frames;
        the paper's 7).
    width: beam's width.
    per_step: greedy and beam decide once per symbolic step (greedy's docstring).
    scaled: hmm's emissions (hmm's docstring).
    weight: hmm's weight of the chain (hmm's docstring).
    """

    name: str = "greedy"
    level: float = 0.5
    alpha: float = 1.0
    candidates: int = 7
    width: int = 10
    per_step: bool = False
    scaled: bool = True
    weight: float = 1.0

    def __post_init__(self):
        if self.name not in DECODERS:
            raise ValueError(f"decoder {self.name!r}: must be one of {', '.join(DECODERS)}")


def decode(posteriors: np.ndarray, config: DecoderConfig, prior: Prior | None = None,
           transitions: NoteTransitions | None = None, frames_per_step: int = 1) -> np.ndarray:
    """Runs the decoder `config` names: the one place that maps a name to a decoder, for the
    command line and the benchmark alike.

    posteriors: (num_frames, num_pitches), time-major, probabilities.
    prior: for greedy and beam with alpha != 0. transitions: for hmm, counted at the rate of
    audio frames (note_transitions with this frames_per_step).

    Returns: float32 of 0/1, shape (num_frames, num_pitches), audio frames (frames_to_roll
    gives steps).
    """
    if config.name in ("greedy", "beam") and config.alpha and prior is None:
        raise ValueError(f"the {config.name} decoder with alpha {config.alpha} needs a prior")
    if config.name == "hmm" and transitions is None:
        raise ValueError("the hmm decoder needs transitions (priors.note_transitions)")
    if config.name == "threshold":
        return threshold(posteriors, config.level)
    if config.name == "hmm":
        return hmm(posteriors, transitions, config.scaled, config.weight)
    if config.name == "greedy":
        return greedy(posteriors, prior, config.alpha, config.candidates, frames_per_step, config.per_step)
    return beam(posteriors, prior, config.alpha, config.candidates, config.width, frames_per_step, config.per_step)
