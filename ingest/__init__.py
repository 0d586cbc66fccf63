"""HTTP ingestion: authenticate, validate, group per player, produce Avro to player.events.raw."""
