"""What every operation goes through besides its resolvers.

    RequestGate      (ASGI, HTTP /graphql) refuses a request without a valid token with 401 before
                     its body is read, and a body over GAMEMETRICS_GRAPHQL_MAX_REQUEST_BYTES with 413:
                     an anonymous caller never gets the parser or the validator to work for it
    (Strawberry schema extensions from here on)
    MaxTokensLimiter the parser stops after GAMEMETRICS_GRAPHQL_MAX_QUERY_TOKENS tokens
    Authentication   an HTTP operation without a valid token stops here: one UNAUTHENTICATED
                     error, no data, HTTP 401 (WebSockets are refused at connection_init instead)
    cost_rule        refuses, before execution, an operation whose @cost weights add up over
                     GAMEMETRICS_GRAPHQL_MAX_COST or deeper than GAMEMETRICS_GRAPHQL_MAX_DEPTH; linear
                     in the query (each fragment measured once, counting stops at the limit)
    ErrorCodes       adds ``extensions.code`` from our errors; masks any other exception as
                     INTERNAL (the traceback goes to the log, not to the client)
    OperationLog     a metric and a structured log line per query or mutation (at most
                     LOGGED_FIELDS root field names: never the query itself)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson

import structlog
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import ValidationRule
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from gamemetrics import metric_defs as m
from graphql_api.auth import bearer_token, verify_token
from graphql_api.errors import ApiError, TooExpensive, Unauthenticated
from graphql_api.settings import GraphQLSettings

log = structlog.get_logger("graphql_api")

INTERNAL_MESSAGE = "internal error {ref}: the server log has the details"
LOGGED_FIELDS = 10  # root field names a log line names at most
GRAPHQL_PATH = "/graphql"


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]})


class RequestGate:
    """ASGI middleware in front of the GraphQL router, for HTTP requests to /graphql.

    1. no valid bearer token: 401 UNAUTHENTICATED (the reason; WWW-Authenticate) before the body
       is read, so nobody unauthenticated makes the server parse, validate or even receive a query;
    2. a body over ``max_request_bytes`` (Content-Length, or counted while it streams in): 413.
    The GraphiQL page (GET with an HTML Accept and no query) and WebSockets pass through: a WebSocket
    is authenticated at ``connection_init`` (``graphql_api.app``).
    """

    def __init__(self, app: ASGIApp, gql: GraphQLSettings) -> None:
        self._app = app
        self._gql = gql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != GRAPHQL_PATH:
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "GET" and not scope.get("query_string") and "text/html" in headers.get("accept", ""):
            await self._app(scope, receive, send)  # the IDE page (when enabled), no operation
            return
        try:
            verify_token(self._gql, bearer_token(headers.get("authorization")))
        except ApiError as exc:
            m.GRAPHQL_OPERATIONS.labels("invalid", exc.code).inc()
            log.info("graphql_refused", reason=str(exc), code=exc.code)
            await _respond(send, 401, _error_body(str(exc), exc.code), {"WWW-Authenticate": 'Bearer realm="gamemetrics"'})
            return
        limit = self._gql.max_request_bytes
        too_large = _error_body(
            f"request body is larger than {limit} bytes (GAMEMETRICS_GRAPHQL_MAX_REQUEST_BYTES); split the operation",
            "PAYLOAD_TOO_LARGE",
        )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _respond(send, 413, too_large)
            return
        body = bytearray()
        while True:  # at most limit + one chunk is ever held
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _respond(send, 413, too_large)
                return
            if not message.get("more_body", False):
                break
        await self._app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    raw: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Authentication(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if context.principal is None:
            error = context.auth_error or Unauthenticated("missing token")
            self.execution_context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(str(error), original_error=error)]
            )
            if isinstance(context.request, Request) and context.response is not None:
                context.response.status_code = 401
                context.response.headers["WWW-Authenticate"] = 'Bearer realm="gamemetrics"'
        yield


def _field_cost(field_def: object) -> int:
    definition = getattr(field_def, "extensions", {}).get("strawberry-definition")
    for directive in getattr(definition, "directives", ()) or ():
        weight = getattr(directive, "weight", None)
        if isinstance(weight, int):
            return weight
    return 0


class _OverCost(Exception):
    """Counting stopped: the operation already costs more than the limit."""

    def __init__(self, spent: int) -> None:
        self.spent = spent


class _Measure:
    """One walk over an operation: cost (sum of @cost) and depth (introspection excluded).

    Linear in the document: each fragment is measured once (its cost and depth do not depend on
    where it is spread) and counting stops as soon as the cost passes the limit, so a few hundred
    bytes of fragments spreading each other twice cannot expand into 2**n fields.
    """

    def __init__(self, rule: ValidationRule, max_cost: int) -> None:
        self._rule = rule
        self._max_cost = max_cost
        self._fragments: dict[str, tuple[int, int]] = {}
        self._open: set[str] = set()  # fragments being measured: a cycle (reported by NoFragmentCycles) counts 0
        self.spent = 0

    def _add(self, cost: int) -> None:
        self.spent += cost
        if self.spent > self._max_cost:
            raise _OverCost(self.spent)

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> tuple[int, int]:
        """(cost, depth) of a selection set under ``parent``."""
        cost = depth = 0
        if selection_set is None:
            return 0, 0
        schema = self._rule.context.schema
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):  # __typename and introspection: free, not deep
                    continue
                field_def = parent.fields.get(selection.name.value) if isinstance(parent, GraphQLObjectType) else None
                own = _field_cost(field_def) if field_def is not None else 0
                self._add(own)
                cost += own
                if selection.selection_set is not None:
                    child = get_named_type(field_def.type) if field_def is not None else None
                    inner_cost, inner_depth = self.selections(selection.selection_set, child)
                    cost += inner_cost
                    depth = max(depth, 1 + inner_depth)
            elif isinstance(selection, InlineFragmentNode):
                on = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                inner_cost, inner_depth = self.selections(selection.selection_set, on)
                cost, depth = cost + inner_cost, max(depth, inner_depth)
            elif isinstance(selection, FragmentSpreadNode):
                inner_cost, inner_depth = self.fragment(selection.name.value)
                cost, depth = cost + inner_cost, max(depth, inner_depth)
        return cost, depth

    def fragment(self, name: str) -> tuple[int, int]:
        if name in self._fragments:
            cost, depth = self._fragments[name]
            self._add(cost)
            return cost, depth
        fragment = self._rule.context.get_fragment(name)
        if fragment is None or name in self._open:
            return 0, 0
        self._open.add(name)
        measured = self.selections(fragment.selection_set, self._rule.context.schema.get_type(fragment.type_condition.name.value))
        self._open.discard(name)
        self._fragments[name] = measured
        return measured


def cost_rule(max_cost: int, max_depth: int | None = None) -> type[ValidationRule]:
    """The validation rule of the cost limit and, when ``max_depth`` is given, of the depth limit.

    Replaces Strawberry's QueryDepthLimiter, which expands fragment spreads as often as they are
    spread (exponential in a few hundred bytes of query).
    """

    class OperationLimits(ValidationRule):
        """Adds up the @cost of every selected field (fragments counted each time they are spread) and
        the depth; refuses the operation over either limit. Counting stops at the limit."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
            root = self.context.schema.get_root_type(node.operation)
            measure = _Measure(self, max_cost)
            try:
                _, depth = measure.selections(node.selection_set, root)
            except _OverCost as over:
                error = TooExpensive(
                    f"operation cost {over.spent} is over the limit of {max_cost} (see the @cost of each field in the "
                    "schema; counting stops at the limit); split it into several requests"
                )
                self.report_error(GraphQLError(str(error), node, extensions={"code": error.code}))
                return
            if max_depth is not None and depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", node))

    return OperationLimits


def _shape(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ApiError):
        error.extensions = {**(error.extensions or {}), "code": original.code}
        return error
    if original is None or error.path is None:  # parsing, validation, variables: about the request, already clear
        error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        return error
    ref = uuid.uuid4().hex[:12]
    log.error("graphql_internal_error", ref=ref, path=error.path, error=repr(original), exc_info=original)
    return GraphQLError(INTERNAL_MESSAGE.format(ref=ref), error.nodes, error.source, error.positions, error.path,
                        extensions={"code": "INTERNAL"})


def _process(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [_shape(e) for e in errors]  # type: ignore[attr-defined]


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        result = self.execution_context.result
        if not self._streamed and isinstance(result, (GraphQLExecutionResult, StrawberryExecutionResult)):
            _process(result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        self._streamed = True
        _process(result)
        yield None


class OperationLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ec = self.execution_context
        kind = ec.operation_type.value if ec.graphql_document is not None and ec.operation_type else "invalid"
        if kind == "subscription":
            return
        errors = getattr(ec.result, "errors", None) or []
        codes = sorted({(e.extensions or {}).get("code", "INTERNAL") for e in errors})
        elapsed = time.perf_counter() - started
        m.GRAPHQL_OPERATIONS.labels(kind, codes[0] if codes else "ok").inc()
        m.GRAPHQL_OPERATION_SECONDS.labels(kind).observe(elapsed)
        principal = getattr(ec.context, "principal", None)
        fields = _root_fields(ec.graphql_document)
        log.info("graphql_operation", operation=kind, name=(ec.operation_name or "")[:64] or None,
                 fields=fields[:LOGGED_FIELDS], fields_total=len(fields),
                 subject=principal.subject if principal else None, token_id=principal.token_id if principal else None,
                 ms=round(elapsed * 1000, 1), errors=codes or None)


def _root_fields(document: object) -> list[str]:
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            return [s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)]
    return []
