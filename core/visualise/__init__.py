"""Ideal cat: the image a network finds most like a class, by gradient ascent on a transformed, regularised image."""
