"""Mutations the catalog could write but that cannot be applied: a clear MutationError (the CLI exits 2), never a
crash with a traceback. Found by the strict type check of policies/mutate.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.catalog import Edit, Mutation, MutationOp, ReferenceSpec, default_catalog
from policies.model import Model, StackFile
from policies.mutate import MutationError, Mutator

ROLE_POLICY = {"role": "r", "policy": "${data.aws_iam_policy_document.doc.json}"}
DOCUMENT = {"statement": [{"effect": "Allow", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]}]}
STATEMENT = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def mutator() -> tuple[Mutator, StackFile]:
    document = {"resource": {"aws_iam_role_policy": {"p": ROLE_POLICY}},
                "data": {"aws_iam_policy_document": {"doc": DOCUMENT}}}
    stack = StackFile(name="payments-dev-app", path=Path("/nowhere/payments-dev-app/cdk.tf.json"), sha256="",
                      document=json.loads(json.dumps(document)))
    return Mutator(default_catalog(), [stack], Model([stack])), stack


def test_a_statement_added_to_a_policy_document_an_earlier_edit_deleted_is_a_mutation_error():
    mutate, stack = mutator()
    mutation = Mutation("delete the document, then widen the policy it was", (
        Edit("data.aws_iam_policy_document", None, False, (MutationOp("delete_resource"),)),
        Edit("aws_iam_role_policy", None, False, (MutationOp("add_policy_statement", path="policy",
                                                             statement=STATEMENT),))))
    with pytest.raises(MutationError, match=r"payments-dev-app:aws_iam_role_policy\.p\.policy references "
                                            r"payments-dev-app:data\.aws_iam_policy_document\.doc, which an "
                                            r"earlier edit of the same mutation deleted"):
        mutate.mutant(default_catalog().controls[0], mutation)
    assert stack.document["data"]["aws_iam_policy_document"]["doc"] == DOCUMENT  # the synth itself is untouched


@pytest.mark.parametrize(("op", "missing"), [
    (MutationOp("set_reference", path="role"), "names no reference"),
    (MutationOp("add_policy_statement", path="policy"), "names no statement"),
])
def test_an_operation_without_its_argument_is_a_mutation_error(op, missing):
    mutate, _ = mutator()
    mutation = Mutation("incomplete", (Edit("aws_iam_role_policy", None, False, (op,)),))
    where = "payments-dev-app:aws_iam_role_policy.p"
    with pytest.raises(MutationError, match=f"{op.op} of {op.path} on {where} {missing}"):
        mutate.mutant(default_catalog().controls[0], mutation)


def test_a_complete_set_reference_still_applies():
    mutate, _ = mutator()
    op = MutationOp("set_reference", path="role", reference=ReferenceSpec("data.aws_iam_policy_document", None, "json"))
    mutant = mutate.mutant(default_catalog().controls[0], Mutation("point at the document", (
        Edit("aws_iam_role_policy", None, False, (op,)),)))
    assert mutant is not None
    assert mutant.documents["payments-dev-app"]["resource"]["aws_iam_role_policy"]["p"]["role"] == (
        "${data.aws_iam_policy_document.doc.json}")
