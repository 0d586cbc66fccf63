"""The Faust app: topics declared once, Avro codecs, settings; ``gamemetrics worker`` runs it."""
