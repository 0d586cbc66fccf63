"""The analytics behind each query, one module per metric: argument checks (pure,
``graphql_api.ranges``) then one SQL round trip on the rollup tables (raw ``player_events`` only
for the funnel and a player's events). Each function takes the
:class:`graphql_api.database.Database` (and the limits it needs, e.g. ``max_points``) and returns
GraphQL types: the plain ones of ``graphql_api.types``, or its own when a field of the type runs
a query of its own (``games.Game.stats`` through a DataLoader, ``sessions.Sessions.concurrent_players``,
``players.Player.recent_events``). ``pipeline`` also reads the consumer lag
(``graphql_api.lag_probe``) and the live hub's dead-letter counts."""
