"""LoRA adaptation on a scenario's own prompts (``mgreason adapt``): the paired with/without-evidence experiment.

data (training examples through the one rendering path, grouped validation split, data hash) → train (PEFT LoRA,
seeded, resumable, early stopping) → an adapter directory with its card (:mod:`mgreason.backends.adapter`), which
``run-scenario --adapter`` scores with.
"""
