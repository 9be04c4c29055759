"""Transfer Lab's core: pure Keras and NumPy, no Streamlit."""
