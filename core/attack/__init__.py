"""Adversarial dog: bounded sign-gradient attacks, and whether they survive, transfer and scale with the budget."""
