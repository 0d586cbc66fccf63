"""The analytics behind each query, one module per metric: argument checks (pure, ``ranges``)
then one SQL round trip on the rollup tables (raw ``player_events`` only for the funnel and a
player's events). Each function takes the :class:`graphql_api.database.Database` and returns the
GraphQL types of ``graphql_api.types``."""
