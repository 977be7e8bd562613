"""Write a checked plan: create the new people and children in batches, update the changed ones."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Model

from reps.importing.checking import Plan
from reps.importing.reading import chunks
from reps.importing.specs import people_spec

BATCH = 100  # rows written per bulk insert


def write(plan: Plan, progress: Callable[[int], None]) -> None:
    """Write every person of the plan and their mandates or links; call ``progress`` per batch.

    The caller holds the transaction: a failure anywhere leaves nothing written.
    """
    spec = people_spec(plan.kind)
    done = 0
    for batch in chunks(plan.people, BATCH):
        new = [p for p in batch if p.existing is None]
        created = [spec.build(p.fields) for p in new]
        spec.model.objects.bulk_create(created)
        for person, obj in zip(new, created, strict=True):
            person.existing = obj
        children = []
        for person in batch:
            _update(person.existing, person.fields, person.changed)
            for child in person.children.values():
                if child.existing is None:
                    children.append(
                        spec.child_model(
                            **{spec.child_parent: person.existing}, **child.key_fields, **child.fields
                        )
                    )
                else:
                    _update(child.existing, child.fields, child.changed)
        spec.child_model.objects.bulk_create(children)
        done += sum(p.rows for p in batch)
        progress(done)


def _update(obj: Model, fields: dict, changed: list[str]) -> None:
    if changed:
        for name in changed:
            setattr(obj, name, fields[name])
        obj.save(update_fields=[f.removesuffix("_id") for f in changed])
