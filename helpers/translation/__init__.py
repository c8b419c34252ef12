"""The machinery of translation: what notebooks 05 and 06 use but do not derive.

Data (``data``, ``download``, ``phenomena``), text to ids (``tokenization``), batches
(``batching``), checkpoints (``checkpoint``), BLEU and chrF (``evaluation``), and the training
loop with its configuration (``loop``). Read them for how the course's runs are organised; the
ideas themselves are derived in the notebooks and live in the top-level lesson modules.
"""
