"""Ranking: the signals a passage carries for a question (features.py) and the learned weights that
combine them into one score (model.py, weights.json, trained by `python -m evals.train_ranker`)."""
