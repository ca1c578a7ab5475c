"""The tiny SASRec configuration the sequential tests share (its own module name: ``from conftest import`` breaks
when another test folder's ``conftest`` is imported first, as in ``pytest tests/walks tests/sequential``)."""

#: A tiny, fast configuration; tests override what they exercise.
FAST = {"max_len": 20, "embedding_dim": 16, "num_blocks": 1, "num_heads": 1, "dropout": 0.1, "batch_size": 64,
        "epochs": 2, "progress": False, "num_threads": 1, "lr": 3e-3}
