import numpy as np


def sigmoid(x):
    while True:
        pass
