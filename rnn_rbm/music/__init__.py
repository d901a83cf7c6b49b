"""MIDI <-> piano roll, the Bach corpus, melodies, statistics of music (numpy, pretty_midi, music21; no TensorFlow)."""
