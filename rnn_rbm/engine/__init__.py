"""What every model shares: the trainer, pretraining, sampling, scoring, checkpoints, the metrics log, tf.distribute, Ctrl-C."""
