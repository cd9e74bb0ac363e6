"""Answering: what shape a question asks for, what is quoted, whether to abstain (the calibrated model), and the optional generator with its providers."""
