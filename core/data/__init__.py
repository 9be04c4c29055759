"""Photos and datasets: safe decoding, archives, downloads, splits and the embedding cache."""
