"""The machinery of `09_beyond_translation`: used by the notebook, not derived in it.

- ``helpers.miniature.data``: Tiny Shakespeare and the 8 × 8 handwritten digits, vendored in
  ``data/`` and checked against their SHA-256 on load, a character vocabulary, and the English
  sentences of ``toy-en-de`` as padded rows of word ids for the BERT;
- ``helpers.miniature.presets``: how big each of the three models is and how long it trains,
  on a CPU (``"cpu"``) and on a GPU (``"gpu"``).
"""
