"""Entry point; see `python rnn_rbm_train.py --help` and rnn_rbm/cli.py."""

from rnn_rbm.cli import train_main

if __name__ == "__main__":
    train_main()
