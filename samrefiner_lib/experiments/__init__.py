"""Experiment functions behind the notebooks: each returns tables (pandas) and figures' data.

One module per paper table or figure; the notebooks call these functions so that the logic is
tested and versioned with the library, and the notebooks stay short.
"""
