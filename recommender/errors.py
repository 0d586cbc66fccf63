"""Errors of the recommender.

    RecommenderError (GameMetricsError)
    ├── VectorStoreError      Qdrant refused a request or could not be reached (server down, local folder busy)
    │   └── LocalStorageBusy  another process holds the Qdrant local-mode folder (local mode is one process)
    ├── NoModel               no trained model for the game yet: run `gamemetrics recommender train --game G`
    └── NotEnoughData         too few interactions to train (the message says how many there were)

Redis errors never surface: the cache is bypassed and the answer comes from Qdrant.
"""

from gamemetrics.errors import GameMetricsError


class RecommenderError(GameMetricsError):
    """Base class of the recommender's errors."""


class VectorStoreError(RecommenderError):
    """Qdrant refused a request or could not be reached."""


class LocalStorageBusy(VectorStoreError):
    """Another process holds the Qdrant local-mode folder."""


class NoModel(RecommenderError):
    """No trained model for this game."""


class NotEnoughData(RecommenderError):
    """Too few interactions to train a model."""
