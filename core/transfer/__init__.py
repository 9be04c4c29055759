"""Transfer learning: the head, fine-tuning, the assembled model, evaluation, export, the pipeline."""
