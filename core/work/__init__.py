"""Jobs as data: every long operation is a frozen spec (``specs``) whose inputs live in a store (``store``);
``runner.run(spec, store)`` turns it into typed step records, the same in the page, the CLI and a worker.

``shared`` holds the process-wide objects a runner reuses (backbones, visualisers, attackers, the ideal
image's result cache), thread-safe and bounded, so a runner needs no Streamlit.
"""
