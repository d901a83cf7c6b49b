"""Entry point; see `python rnn_rbm_evaluate.py --help` and rnn_rbm/cli.py."""

from rnn_rbm.cli import evaluate_main

if __name__ == "__main__":
    evaluate_main()
