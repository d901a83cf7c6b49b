"""RNN-RBM for polyphonic music (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012).

Modules, in the order data flows (imports point down this list only):
pianoroll -> data -> rbm -> model -> pretrain / train / generate -> cli.
`config` and `errors` may be imported by all.
"""
