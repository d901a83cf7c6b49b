"""Transcription, the paper's second application (Section 7): audio in, piano roll out.

numpy, librosa and mir_eval only, no TensorFlow, so that the acoustic model and the
symbolic priors plug in from above without this floor knowing them:

    audio.py      roll -> audio through FluidSynth; reading a user's recording
    features.py   log-CQT frames aligned to symbolic steps, context stacking, the
                  step <-> audio-frame mapping (the paper's "at least half" rule)
    decoders.py   threshold, per-note HMM, greedy and beam search over the
                  product of experts -log Pa(v) - alpha log Ps(v | history)
    priors.py     the Prior protocol the decoders call, and two numpy priors
    scoring.py    MIREX frame-level accuracy, precision, recall, F (mir_eval)

Rolls are time-major throughout: `(num_steps, 88)` float32 of 0/1, column i is MIDI
pitch 21 + i.
"""


def require_extra() -> None:
    """Raises UserError, saying how to install them, when the transcription extra's libraries
    (librosa, mir_eval) are missing: the base install leaves them out."""
    from rnn_rbm.errors import UserError

    try:
        import librosa  # noqa: F401
        import mir_eval  # noqa: F401
    except ImportError as exc:
        raise UserError(f"transcription needs the [transcribe] extra ({exc.name} is missing): "
                        "pip install -e \".[transcribe]\"") from None
