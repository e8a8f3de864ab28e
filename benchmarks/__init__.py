"""Benchmarks: ``python -m benchmarks`` (``make bench``) prints each recipe's training
throughput as a ratio against a hand-written plain-Keras model of the same
architecture (and an eager PyTorch one where torch imports), measured in the same
process. See BENCHMARKS.md."""
