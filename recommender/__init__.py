"""Player recommendations: embeddings from play history (numpy, scikit-learn), Qdrant vector search,
a Redis cache. A tour, in the order data meets it:

    interactions.py   pure: events (player_events rows, processed batches) -> weighted, decayed
                      interactions -> a scipy.sparse player x item matrix with its id maps
    model.py          pure: BM25 weighting + TruncatedSVD; fold-in (a projection); popularity per segment
    training.py       per game: PostgreSQL -> matrix -> model -> new Qdrant collections -> alias swap
    vectors.py        the Qdrant collections and aliases (the embedded store or a server)
    edge.py           the embedded store: Qdrant's engine in-process (qdrant-edge-py), one process's
    port.py           the store as training, forget and export see it: direct, or through the service
                      that owns the embedded store (its admin API, admin.py)
    foldin.py         new play -> a player's vector, upserted; their cache dropped; Recommendations
    agent.py          the Faust fold-in worker (`gamemetrics recommender worker`)
    consumer.py       the same loop without Faust, inside the API process on the embedded store
    publish.py        Recommendations records to recommendations.generated
    cache.py          Redis cache-aside, one recompute per key, bypass when Redis is down
    service.py        what the API answers (personal, popular cold start, similar players)
    fast.py           a cache hit answered before FastAPI (pure ASGI), tokens verified once
    app.py            the FastAPI service (`gamemetrics serve recommender`); admin.py its admin routes
    evaluate.py       offline evaluation: time split, recall@k, NDCG@k, coverage vs baselines
    forget.py         remove a player from every recommender store
    cli.py, settings.py, errors.py
"""
