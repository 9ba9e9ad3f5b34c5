"""Describe results in the REST API's shapes: global `sobjects`, `sobjects/{type}` and its `describe`.

Only the keys a connector reads are guaranteed meaningful (name, label, type, length, byteLength,
picklistValues, restrictedPicklist, updateable, createable, nillable, custom, referenceTo,
relationshipName; childRelationships with relationshipName, childSObject and field), but the other
standard keys are present with plausible values so code that indexes them does not break.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.schema import FieldDef, ObjectDef

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label + "s",
        "keyPrefix": obj.prefix,
        "custom": False,
        "createable": obj.createable,
        "updateable": obj.updateable,
        "deletable": obj.updateable,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "triggerable": True,
        "deprecatedAndHidden": False,
        "urls": _urls(obj, version),
    }


def describe_global(objects: dict[str, ObjectDef], version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(o, version) for o in objects.values()],
    }


def field_json(field: FieldDef) -> dict[str, Any]:
    picklist = [
        {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
        for v in field.picklist or ()
    ]
    return {
        "name": field.name,
        "label": field.label or field.name,
        "type": field.type,
        "length": field.length,
        "byteLength": field.length * 3,
        "precision": field.precision,
        "scale": field.scale,
        "digits": 0,
        "soapType": SOAP_TYPES.get(field.type, "xsd:string"),
        "custom": field.custom,
        "updateable": field.updateable,
        "createable": field.createable,
        "nillable": field.nillable,
        "defaultedOnCreate": field.type == "boolean",
        "calculated": False,
        "filterable": True,
        "sortable": field.type not in ("textarea", "multipicklist"),
        "groupable": field.type != "textarea",
        "picklistValues": picklist,
        "restrictedPicklist": field.restricted,
        "dependentPicklist": False,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "polymorphicForeignKey": len(field.reference_to) > 1,
        "idLookup": field.name == "Id",
        "externalId": field.external_id,
        "unique": False,
        "autoNumber": False,
        "caseSensitive": False,
        "htmlFormatted": False,
        "nameField": field.name in ("Name", "Subject"),
        "deprecatedAndHidden": False,
        "extraTypeInfo": "plaintextarea" if field.type == "textarea" else None,
        "inlineHelpText": None,
        "defaultValue": False if field.type == "boolean" else None,
    }


def describe_object(obj: ObjectDef, objects: dict[str, ObjectDef], version: str) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    for other in objects.values():
        for field in other.fields.values():
            if obj.name in field.reference_to:
                named = next(
                    (
                        c.name
                        for c in obj.children.values()
                        if c.child == other.name and c.field == field.name
                    ),
                    None,
                )
                children.append(
                    {
                        "cascadeDelete": False,
                        "childSObject": other.name,
                        "deprecatedAndHidden": False,
                        "field": field.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": named,
                        "restrictedDelete": False,
                    }
                )
    return {
        **object_summary(obj, version),
        "fields": [field_json(f) for f in obj.fields.values()],
        "childRelationships": children,
        "recordTypeInfos": [],
        "supportedScopes": [],
        "urls": _urls(obj, version),
    }
