"""The evaluation harness: retrieval and answer quality of the served pipeline, against baselines."""
