"""Entry point; see `python rnn_rbm_transcribe.py --help` and rnn_rbm/cli.py."""

from rnn_rbm.cli import transcribe_main

if __name__ == "__main__":
    transcribe_main()
