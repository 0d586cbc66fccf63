"""What every operation goes through besides its resolvers (Strawberry schema extensions).

    Authentication   an HTTP operation without a valid token stops here: one UNAUTHENTICATED
                     error, no data, HTTP 401 (WebSockets are refused at connection_init instead)
    cost_rule        refuses, before execution, an operation whose @cost weights add up over
                     GAMEMETRICS_GRAPHQL_MAX_COST (depth: Strawberry's QueryDepthLimiter)
    ErrorCodes       adds ``extensions.code`` from our errors; masks any other exception as
                     INTERNAL (the traceback goes to the log, not to the client)
    OperationLog     a metric and a structured log line per query or mutation
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

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
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from gamemetrics import metric_defs as m
from graphql_api.errors import ApiError, TooExpensive, Unauthenticated

log = structlog.get_logger("graphql_api")

INTERNAL_MESSAGE = "internal error {ref}: the server log has the details"


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


def cost_rule(max_cost: int) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        """Adds up the @cost of every selected field (fragments expanded); refuses the operation over the limit."""

        def _cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None,
                  seen: frozenset[str]) -> int:
            if selection_set is None or not isinstance(parent, GraphQLObjectType):
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    field_def = parent.fields.get(selection.name.value)
                    if field_def is None:  # __typename, introspection, or an unknown field (reported elsewhere)
                        continue
                    total += _field_cost(field_def)
                    total += self._cost(selection.selection_set, get_named_type(field_def.type), seen)
                elif isinstance(selection, InlineFragmentNode):
                    on = (self.context.schema.get_type(selection.type_condition.name.value)
                          if selection.type_condition else parent)
                    total += self._cost(selection.selection_set, on, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in seen:
                        continue
                    on = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._cost(fragment.selection_set, on, seen | {name})
            return total

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
            root = self.context.schema.get_root_type(node.operation)
            cost = self._cost(node.selection_set, root, frozenset())
            if cost > max_cost:
                error = TooExpensive(
                    f"operation cost {cost} is over the limit of {max_cost} (see the @cost of each field in the "
                    "schema); split it into several requests"
                )
                self.report_error(GraphQLError(str(error), node, extensions={"code": error.code}))

    return CostLimit


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
        kind = ec.operation_type.value if ec.operation_type else "invalid"
        if kind == "subscription":
            return
        errors = getattr(ec.result, "errors", None) or []
        codes = sorted({(e.extensions or {}).get("code", "INTERNAL") for e in errors})
        elapsed = time.perf_counter() - started
        m.GRAPHQL_OPERATIONS.labels(kind, codes[0] if codes else "ok").inc()
        m.GRAPHQL_OPERATION_SECONDS.labels(kind).observe(elapsed)
        principal = getattr(ec.context, "principal", None)
        log.info("graphql_operation", operation=kind, name=ec.operation_name, fields=_root_fields(ec.graphql_document),
                 subject=principal.subject if principal else None, token_id=principal.token_id if principal else None,
                 ms=round(elapsed * 1000, 1), errors=codes or None)


def _root_fields(document: object) -> list[str]:
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            return [s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)]
    return []
