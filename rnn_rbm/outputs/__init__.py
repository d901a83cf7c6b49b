"""What a person reads: MIDI files of samples, WAV, PNG, text tables, the results page."""
