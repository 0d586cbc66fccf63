"""Errors of the schema layer.

    SchemaError                 base (a GameMetricsError)
    ├── CatalogError            the catalog or a schema file is wrong; a bug in this repository
    ├── RegistryError           the Schema Registry could not be reached or refused a schema
    ├── CodecUnavailableError   the Avro codec a setting asks for is not in this build
    └── WireFormatError         bytes that are not a message we can decode
        ├── NotFramedError      no Confluent frame (magic byte 0 + 4-byte schema id)
        ├── UnknownSchemaIdError  the frame names a schema id we cannot resolve
        └── UndecodableBodyError  the Avro body does not match its writer schema
"""

from gamemetrics.errors import GameMetricsError


class SchemaError(GameMetricsError):
    """Base class of schema errors."""


class CatalogError(SchemaError):
    """The catalog or a schema file is inconsistent."""


class RegistryError(SchemaError):
    """The Schema Registry could not be reached or refused a schema."""


class CodecUnavailableError(SchemaError):
    """The Avro codec the settings name is unknown or not installed (raised at start-up)."""


class WireFormatError(SchemaError):
    """Bytes that are not a message we can decode."""


class NotFramedError(WireFormatError):
    """The bytes do not start with the Confluent frame."""


class UnknownSchemaIdError(WireFormatError):
    """The frame names a schema id that neither the catalog nor the registry knows."""


class UndecodableBodyError(WireFormatError):
    """The Avro body does not decode with its writer schema."""
