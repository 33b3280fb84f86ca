"""How each bundle file's validated rows become nodes and relationships (DESIGN §2-3)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.model import (
    DEVIATION_TARGETS,
    DOCUMENT_TARGETS,
    TEST_TARGETS,
    Label,
    RelType,
    version_id,
)
from graph.store import NodeRef, Props
from ingest import rows as r
from ingest.units import UnitError, canonical_unit, convert


class RowRejected(Exception):
    """A validated row that still cannot be written; names the column and the reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(slots=True)
class PlannedNode:
    ref: NodeRef
    props: Props
    # Relationships this node's row alone defines; replaced when the node's content changes.
    owns: tuple[tuple[RelType, bool], ...] = ()


@dataclass(slots=True)
class PlannedRel:
    type: RelType
    src: NodeRef
    dst: NodeRef
    props: Props
    key: str = ""


@dataclass(slots=True)
class RowPlan:
    nodes: list[PlannedNode] = field(default_factory=list)
    rels: list[PlannedRel] = field(default_factory=list)


class Lookup:
    """What mapping needs to know of the store: the units of the lots a chunk mentions."""

    def __init__(self, lot_units: Mapping[str, str]) -> None:
        self.lot_units = lot_units


@dataclass(frozen=True, slots=True)
class FileSpec:
    name: str
    model: type[r.Row]
    row_key: Callable[[Any], tuple[Any, ...]]
    plan: Callable[[Any, Lookup], RowPlan]
    lot_column: str | None = None  # rows that quantify a lot need that lot's unit


def _props(row: r.Row, drop: tuple[str, ...]) -> Props:
    """The row's values as properties: declared fields, then extra columns, empty ones left out.

    Reads the validated values directly (rows hold only plain values, so this equals
    ``model_dump`` without its cost, which is paid once per row of a million-row bundle).
    """
    data = {k: v for k, v in row.__dict__.items() if v is not None and k not in drop}
    for k, v in (row.model_extra or {}).items():
        if k.startswith("Unnamed:") or v is None or (isinstance(v, str) and not v.strip()):
            continue
        data[k] = v
    return data


@functools.lru_cache(maxsize=4096)
def _site(site_id: str) -> PlannedNode:
    """A site as rows name it: one plan for every row of a chunk that names it (a bundle
    names a few sites a million times; a plan is read, never changed)."""
    return PlannedNode(NodeRef(Label.SITE, site_id), {"name": site_id})


# a bundle spells its units a few ways, a million times: each spelling is read once
_canonical_unit = functools.lru_cache(maxsize=256)(canonical_unit)


def _unit(row: Any, column: str = "unit") -> str:
    try:
        return _canonical_unit(getattr(row, column))
    except UnitError as exc:
        raise RowRejected(column, str(exc)) from None


def _in_lot_unit(row: Any, lookup: Lookup) -> tuple[float, str]:
    """The row's quantity in its lot's unit; unchanged when the lot is not known yet."""
    unit = _unit(row)
    lot_unit = lookup.lot_units.get(row.lot_id)
    if lot_unit is None:
        return row.quantity, unit
    try:
        target = _canonical_unit(lot_unit)
        if target == unit:
            return row.quantity, unit  # what convert gives for one unit
        return convert(row.quantity, unit, target), target
    except UnitError as exc:
        raise RowRejected("unit", str(exc)) from None


def _node(label: Label, id_column: str) -> Callable[[Any, Lookup], PlannedNode]:
    def build(row: Any, _: Lookup) -> PlannedNode:
        return PlannedNode(NodeRef(label, getattr(row, id_column)), _props(row, (id_column,)))

    return build


def _plain(
    label: Label, id_column: str, with_site: bool = False
) -> Callable[[Any, Lookup], RowPlan]:
    build = _node(label, id_column)

    def plan(row: Any, lookup: Lookup) -> RowPlan:
        nodes = [build(row, lookup)]
        if with_site:
            nodes.append(_site(row.site))
        return RowPlan(nodes=nodes)

    return plan


def _material(row: r.MaterialRow, _: Lookup) -> RowPlan:
    props = _props(row, ("material_id",))
    props["unit"] = _unit(row)
    return RowPlan(nodes=[PlannedNode(NodeRef(Label.MATERIAL, row.material_id), props)])


def _lot(row: r.LotRow, _: Lookup) -> RowPlan:
    lot = NodeRef(Label.LOT, row.lot_id)
    props = _props(row, ("lot_id",))
    props["unit"] = _unit(row)
    owns: list[tuple[RelType, bool]] = [(RelType.OF_MATERIAL, True), (RelType.SUPPLIED, False)]
    plan = RowPlan(nodes=[PlannedNode(lot, props, tuple(owns)), _site(row.site)])
    plan.rels.append(
        PlannedRel(RelType.OF_MATERIAL, lot, NodeRef(Label.MATERIAL, row.material_id), {})
    )
    if row.supplier_id:
        plan.rels.append(
            PlannedRel(RelType.SUPPLIED, NodeRef(Label.SUPPLIER, row.supplier_id), lot, {})
        )
    return plan


def _batch(row: r.BatchRow, _: Lookup) -> RowPlan:
    batch = NodeRef(Label.BATCH, row.batch_id)
    plan = RowPlan(
        nodes=[
            PlannedNode(batch, _props(row, ("batch_id",)), ((RelType.RAN_ON, True),)),
            _site(row.site),
        ]
    )
    if row.equipment_id:
        plan.rels.append(
            PlannedRel(RelType.RAN_ON, batch, NodeRef(Label.EQUIPMENT, row.equipment_id), {})
        )
    return plan


def _consumption(row: r.ConsumptionRow, lookup: Lookup) -> RowPlan:
    quantity, unit = _in_lot_unit(row, lookup)
    rel = PlannedRel(
        RelType.CONSUMED_IN,
        NodeRef(Label.LOT, row.lot_id),
        NodeRef(Label.BATCH, row.batch_id),
        {"quantity": quantity, "unit": unit, "at": row.consumed_at},
        key=row.consumed_at,
    )
    return RowPlan(rels=[rel])


def _output(row: r.OutputRow, lookup: Lookup) -> RowPlan:
    quantity, unit = _in_lot_unit(row, lookup)
    rel = PlannedRel(
        RelType.PRODUCED,
        NodeRef(Label.BATCH, row.batch_id),
        NodeRef(Label.LOT, row.lot_id),
        {"quantity": quantity, "unit": unit},
    )
    return RowPlan(rels=[rel])


def _shipment(row: r.ShipmentRow, lookup: Lookup) -> RowPlan:
    quantity, unit = _in_lot_unit(row, lookup)
    shipment = NodeRef(Label.SHIPMENT, row.shipment_id)
    node = PlannedNode(
        shipment,
        {"shipped_at": row.shipped_at, "customer_id": row.customer_id},
        ((RelType.TO, True),),
    )
    return RowPlan(
        nodes=[node],
        rels=[
            PlannedRel(
                RelType.SHIPPED_IN,
                NodeRef(Label.LOT, row.lot_id),
                shipment,
                {"quantity": quantity, "unit": unit} | _extras(row),
            ),
            PlannedRel(RelType.TO, shipment, NodeRef(Label.CUSTOMER, row.customer_id), {}),
        ],
    )


def _extras(row: r.Row) -> Props:
    fields = set(type(row).model_fields)
    return {k: v for k, v in _props(row, ()).items() if k not in fields}


def _movement(row: r.MovementRow, _: Lookup) -> RowPlan:
    props: Props = {"from_site": row.from_site, "at": row.moved_at, "quantity": row.quantity}
    if row.moved_by:
        props["by"] = row.moved_by
    props |= _extras(row)
    rel = PlannedRel(
        RelType.MOVED_TO,
        NodeRef(Label.LOT, row.lot_id),
        NodeRef(Label.SITE, row.to_site),
        props,
        key=row.moved_at,
    )
    return RowPlan(nodes=[_site(row.from_site), _site(row.to_site)], rels=[rel])


def _document(row: r.DocumentRow, _: Lookup) -> RowPlan:
    document = NodeRef(Label.DOCUMENT, row.document_id)
    version = NodeRef(Label.DOCUMENT_VERSION, version_id(row.document_id, row.version))
    version_props = _props(row, ("kind", "title"))
    return RowPlan(
        nodes=[
            PlannedNode(document, {"kind": row.kind, "title": row.title}),
            PlannedNode(version, version_props),
        ],
        rels=[PlannedRel(RelType.HAS_VERSION, document, version, {})],
    )


def _link(
    rel_type: RelType, src_label: Label, src_column: str, targets: Mapping[str, Label]
) -> Callable[[Any, Lookup], RowPlan]:
    def plan(row: Any, _: Lookup) -> RowPlan:
        rel = PlannedRel(
            rel_type,
            NodeRef(src_label, getattr(row, src_column)),
            NodeRef(targets[row.target_kind], row.target_id),
            _extras(row),
        )
        return RowPlan(rels=[rel])

    return plan


def _signature(row: r.SignatureRow, _: Lookup) -> RowPlan:
    signature = NodeRef(Label.SIGNATURE, row.signature_id)
    version = NodeRef(Label.DOCUMENT_VERSION, version_id(row.document_id, row.document_version))
    node = PlannedNode(
        signature, _props(row, ("signature_id",)), ((RelType.SIGNS, True), (RelType.SIGNED, False))
    )
    return RowPlan(
        nodes=[node],
        rels=[
            PlannedRel(RelType.SIGNED, NodeRef(Label.PERSON, row.signer_id), signature, {}),
            PlannedRel(RelType.SIGNS, signature, version, {}),
            # a version signed before its documents.csv row arrives still hangs off its
            # document (both placeholders until then), so custody and audits can reach it
            PlannedRel(RelType.HAS_VERSION, NodeRef(Label.DOCUMENT, row.document_id), version, {}),
        ],
    )


def _test_result(row: r.TestResultRow, _: Lookup) -> RowPlan:
    result = NodeRef(Label.TEST_RESULT, row.result_id)
    node = PlannedNode(
        result, _props(row, ("result_id",)), ((RelType.TESTED, True), (RelType.REPORTED_IN, True))
    )
    plan = RowPlan(
        nodes=[node],
        rels=[
            PlannedRel(
                RelType.TESTED, result, NodeRef(TEST_TARGETS[row.target_kind], row.target_id), {}
            )
        ],
    )
    if row.document_id:
        plan.rels.append(
            PlannedRel(RelType.REPORTED_IN, result, NodeRef(Label.DOCUMENT, row.document_id), {})
        )
    return plan


def _supplier_change(row: r.SupplierChangeRow, _: Lookup) -> RowPlan:
    change = NodeRef(Label.SUPPLIER_CHANGE, row.change_id)
    node = PlannedNode(
        change, _props(row, ("change_id",)), ((RelType.BY, True), (RelType.CONCERNS, True))
    )
    plan = RowPlan(
        nodes=[node],
        rels=[PlannedRel(RelType.BY, change, NodeRef(Label.SUPPLIER, row.supplier_id), {})],
    )
    if row.material_id:
        plan.rels.append(
            PlannedRel(RelType.CONCERNS, change, NodeRef(Label.MATERIAL, row.material_id), {})
        )
    return plan


# In ingest order: master data before the rows that refer to it.
FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "suppliers.csv",
        r.SupplierRow,
        lambda x: (x.supplier_id,),
        _plain(Label.SUPPLIER, "supplier_id"),
    ),
    FileSpec("materials.csv", r.MaterialRow, lambda x: (x.material_id,), _material),
    FileSpec(
        "customers.csv",
        r.CustomerRow,
        lambda x: (x.customer_id,),
        _plain(Label.CUSTOMER, "customer_id"),
    ),
    FileSpec(
        "people.csv", r.PersonRow, lambda x: (x.person_id,), _plain(Label.PERSON, "person_id", True)
    ),
    FileSpec(
        "equipment.csv",
        r.EquipmentRow,
        lambda x: (x.equipment_id,),
        _plain(Label.EQUIPMENT, "equipment_id", True),
    ),
    FileSpec("lots.csv", r.LotRow, lambda x: (x.lot_id,), _lot),
    FileSpec("batches.csv", r.BatchRow, lambda x: (x.batch_id,), _batch),
    FileSpec("documents.csv", r.DocumentRow, lambda x: (x.document_id, x.version), _document),
    FileSpec(
        "deviations.csv",
        r.DeviationRow,
        lambda x: (x.deviation_id,),
        _plain(Label.DEVIATION, "deviation_id"),
    ),
    FileSpec(
        "supplier_changes.csv", r.SupplierChangeRow, lambda x: (x.change_id,), _supplier_change
    ),
    FileSpec(
        "consumptions.csv",
        r.ConsumptionRow,
        lambda x: (x.batch_id, x.lot_id, x.consumed_at),
        _consumption,
        lot_column="lot_id",
    ),
    FileSpec(
        "outputs.csv", r.OutputRow, lambda x: (x.batch_id, x.lot_id), _output, lot_column="lot_id"
    ),
    FileSpec(
        "shipments.csv",
        r.ShipmentRow,
        lambda x: (x.shipment_id, x.lot_id),
        _shipment,
        lot_column="lot_id",
    ),
    FileSpec(
        "movements.csv", r.MovementRow, lambda x: (x.lot_id, x.to_site, x.moved_at), _movement
    ),
    FileSpec(
        "document_links.csv",
        r.DocumentLinkRow,
        lambda x: (x.document_id, x.target_kind, x.target_id),
        _link(RelType.CONCERNS, Label.DOCUMENT, "document_id", DOCUMENT_TARGETS),
    ),
    FileSpec(
        "deviation_links.csv",
        r.DeviationLinkRow,
        lambda x: (x.deviation_id, x.target_kind, x.target_id),
        _link(RelType.AFFECTS, Label.DEVIATION, "deviation_id", DEVIATION_TARGETS),
    ),
    FileSpec("signatures.csv", r.SignatureRow, lambda x: (x.signature_id,), _signature),
    FileSpec("test_results.csv", r.TestResultRow, lambda x: (x.result_id,), _test_result),
)

FILES_BY_NAME: dict[str, FileSpec] = {spec.name: spec for spec in FILES}
