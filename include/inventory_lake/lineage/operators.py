"""Operators that report the recorded lineage to Airflow's OpenLineage provider.

The provider asks an operator for `get_openlineage_facets_on_complete` / `_on_failure` when it
has them; TaskFlow's own operator has none (only the source code), so the project's tasks use
`lake_task`, the same `@task` with these two methods. Each dataset carries a schema facet when
its columns are known, output statistics (rows, bytes) for what was written, input statistics
for what was read, and the facts' quality checks as a data-quality assertions facet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory

from include.inventory_lake.lineage.recorder import RECORDER, DatasetUse

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk.bases.decorator import Task

TaskParams = ParamSpec("TaskParams")
TaskReturn = TypeVar("TaskReturn")


class ReportsLineage:
    """Mixin: clear the recorder when the task starts, report it when the task ends."""

    def execute(self, context: Any) -> Any:
        RECORDER.clear()
        return super().execute(context)  # type: ignore[misc]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        return operator_lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        return operator_lineage()


def _dataset_facets(use: DatasetUse) -> dict[str, Any]:
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as quality
    from openlineage.client.facet_v2 import schema_dataset

    facets: dict[str, Any] = {}
    if use.fields is not None:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=kind)
                for name, kind in use.fields
            ]
        )
    if use.assertions:
        facets["dataQualityAssertions"] = quality.DataQualityAssertionsDatasetFacet(
            assertions=[
                quality.Assertion(assertion=assertion, success=success, column=column)
                for assertion, success, column in use.assertions
            ]
        )
    facets.update(use.facets)
    return facets


def operator_lineage() -> OperatorLineage[Any, Any]:
    """The recorded inputs and outputs as the provider's OperatorLineage."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset as read_stats
    from openlineage.client.facet_v2 import output_statistics_output_dataset as write_stats

    recorded = RECORDER.recorded()
    inputs = [
        InputDataset(
            namespace=use.namespace,
            name=use.name,
            facets=_dataset_facets(use),
            inputFacets=_statistics(
                use, "inputStatistics", read_stats.InputStatisticsInputDatasetFacet
            ),
        )
        for use in recorded.inputs
    ]
    outputs = [
        OutputDataset(
            namespace=use.namespace,
            name=use.name,
            facets=_dataset_facets(use),
            outputFacets=_statistics(
                use, "outputStatistics", write_stats.OutputStatisticsOutputDatasetFacet
            ),
        )
        for use in recorded.outputs
    ]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def _statistics(use: DatasetUse, key: str, facet: Any) -> dict[str, Any]:
    """Rows and bytes read or written, when known."""
    if use.rows is None and use.bytes is None:
        return {}
    return {key: facet(rowCount=use.rows, size=use.bytes)}


class LakePythonOperator(ReportsLineage, _PythonDecoratedOperator):
    """`@task`'s operator, reporting what the task read and wrote."""

    custom_operator_name = "@task"


@overload
def lake_task(
    python_callable: Callable[TaskParams, TaskReturn],
) -> Task[TaskParams, TaskReturn]: ...


@overload
def lake_task(
    python_callable: None = None, **kwargs: Any
) -> Callable[[Callable[TaskParams, TaskReturn]], Task[TaskParams, TaskReturn]]: ...


def lake_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """`@task` for the project's tasks: the same decorator, with lineage (see module doc).
    Bare (`@lake_task`) or with the operator's arguments (`@lake_task(pool=...)`), as `@task`;
    either way the task keeps the function's parameters and return type."""
    return task_decorator_factory(
        python_callable=python_callable,
        decorated_operator_class=LakePythonOperator,
        **kwargs,
    )
