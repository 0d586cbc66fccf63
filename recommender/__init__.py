"""Player recommendations: embeddings from play history (numpy, scikit-learn), Qdrant search, Redis cache. Not built yet."""
