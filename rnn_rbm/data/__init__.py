"""Data sets: find and convert a --data source, the HDF5 roll cache, split, batch."""
