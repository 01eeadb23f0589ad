"""The PyTorch oracle: every student function written with torch tensors and autograd.

It is independent of the numpy solutions, so a test comparing a student with it compares
two separate derivations. Functions take and return numpy float64 arrays.
"""
