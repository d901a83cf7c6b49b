"""Entry point; see `python weight_initializations.py --help` and rnn_rbm/cli.py."""

from rnn_rbm.cli import pretrain_main

if __name__ == "__main__":
    pretrain_main()
