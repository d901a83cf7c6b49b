"""Entry point; see `python rnn_rbm_generate.py --help` and rnn_rbm/cli.py."""

from rnn_rbm.cli import generate_main

if __name__ == "__main__":
    generate_main()
