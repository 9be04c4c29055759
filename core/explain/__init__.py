"""Feature maps: what each stage extracts, Grad-CAM, and turning activations into pictures."""
