"""TensorFlow maths with no parameters of its own: the RBM and its one Gibbs chain, Philox bits, AIS, the NADE, the compiled recurrence, frame accuracy."""
