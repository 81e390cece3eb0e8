"""IAM evaluation as the local stack applies it to each function's calls."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from local_stack.cloudformation.template import StackTemplate
from local_stack.dynamodb.iam_proxy import required_permissions
from local_stack.iam.models import Role, Statement, UnsupportedPolicy, access_key_for, roles_from_template

TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/sessions"


def role(*statements: Statement) -> Role:
    return Role("HandlerRole", "handler-role", "arn:aws:iam::000000000000:role/handler-role", statements)


def allow(actions: tuple[str, ...], resources: tuple[str, ...] = ("*",)) -> Statement:
    return Statement("Allow", actions, resources)


def deny(actions: tuple[str, ...], resources: tuple[str, ...] = ("*",)) -> Statement:
    return Statement("Deny", actions, resources)


def test_nothing_is_allowed_without_a_statement():
    assert not role().is_allowed("dynamodb:GetItem", TABLE)


def test_an_allow_covers_its_action_on_its_resource_only():
    handler = role(allow(("dynamodb:GetItem",), (TABLE,)))
    assert handler.is_allowed("dynamodb:GetItem", TABLE)
    assert not handler.is_allowed("dynamodb:PutItem", TABLE)
    assert not handler.is_allowed("dynamodb:GetItem", TABLE + "-other")


def test_an_explicit_deny_beats_any_allow_in_either_order():
    for statements in [
        (allow(("dynamodb:*",)), deny(("dynamodb:DeleteItem",), (TABLE,))),
        (deny(("dynamodb:DeleteItem",), (TABLE,)), allow(("dynamodb:*",))),
    ]:
        handler = role(*statements)
        assert not handler.is_allowed("dynamodb:DeleteItem", TABLE)
        assert handler.is_allowed("dynamodb:GetItem", TABLE)


def test_a_deny_that_does_not_cover_the_request_does_not_refuse_it():
    handler = role(allow(("dynamodb:*",)), deny(("dynamodb:*",), (TABLE + "-audit",)))
    assert handler.is_allowed("dynamodb:Query", TABLE)


def test_resource_wildcards_cover_indexes_and_question_marks_one_character():
    handler = role(allow(("dynamodb:Query",), (TABLE + "/index/*",)), allow(("dynamodb:GetItem",), (TABLE[:-1] + "?",)))
    assert handler.is_allowed("dynamodb:Query", TABLE + "/index/language")
    assert not handler.is_allowed("dynamodb:Query", TABLE)
    assert handler.is_allowed("dynamodb:GetItem", TABLE)
    assert not handler.is_allowed("dynamodb:GetItem", TABLE + "x")


def test_actions_match_case_insensitively_with_wildcards_resources_do_not():
    handler = role(allow(("DynamoDB:Get*",), (TABLE,)))
    assert handler.is_allowed("dynamodb:GetItem", TABLE)
    assert handler.is_allowed("dynamodb:getitem", TABLE)
    assert not handler.is_allowed("dynamodb:PutItem", TABLE)
    assert not handler.is_allowed("dynamodb:GetItem", TABLE.upper())


def test_not_action_allows_everything_but_what_it_names():
    handler = role(Statement("Allow", (), ("*",), not_actions=("dynamodb:Delete*",)))
    assert handler.is_allowed("dynamodb:PutItem", TABLE)
    assert not handler.is_allowed("dynamodb:DeleteItem", TABLE)


TEMPLATE = {
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "sessions"}},
        "HandlerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "handler-role",
                "Policies": [
                    {
                        "PolicyName": "inline",
                        "PolicyDocument": {
                            "Statement": {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}
                        },
                    }
                ],
            },
        },
        "OtherRole": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "other-role"}},
        "HandlerPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "HandlerRole"}],
                "PolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": {"Fn::GetAtt": "Table.Arn"}},
                        {"Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
                    ]
                },
            },
        },
    }
}


def test_roles_gather_inline_policies_and_the_policies_attached_to_them():
    roles = roles_from_template(StackTemplate(TEMPLATE, stack_name="S", region="us-east-1", assembly_dir=Path()))
    handler, other = roles["HandlerRole"], roles["OtherRole"]
    assert handler.arn == "arn:aws:iam::000000000000:role/handler-role"
    assert handler.is_allowed("dynamodb:PutItem", TABLE)
    assert not handler.is_allowed("dynamodb:GetItem", TABLE)  # the attached Deny beats the inline Allow
    assert handler.is_allowed("dynamodb:GetItem", TABLE + "-other")
    assert other.statements == ()


@pytest.mark.parametrize(
    "element",
    [
        {"Condition": {"StringEquals": {"aws:SourceAccount": "000000000000"}}},
        {"NotResource": "arn:aws:dynamodb:us-east-1:000000000000:table/secrets"},
    ],
)
def test_a_statement_the_local_iam_cannot_evaluate_stops_the_stack_naming_it(element):
    """An Allow with a Condition would otherwise allow unconditionally, a NotResource everything."""
    statement = {"Sid": "Narrowed", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*", **element}
    if "NotResource" in element:
        del statement["Resource"]
    template = copy.deepcopy(TEMPLATE)
    template["Resources"]["HandlerPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(statement)
    with pytest.raises(UnsupportedPolicy) as refused:
        roles_from_template(StackTemplate(template, stack_name="S", region="us-east-1", assembly_dir=Path()))
    assert "HandlerPolicy: Narrowed uses" in str(refused.value) and next(iter(element)) in str(refused.value)


def test_access_keys_are_stable_and_shaped_like_temporary_ones():
    key = access_key_for("handler-role/session-connect")
    assert key == access_key_for("handler-role/session-connect")
    assert key != access_key_for("handler-role/session-message")
    assert len(key) == 20 and key.startswith("ASIA") and key.isupper()


PREFIX = "arn:aws:dynamodb:us-east-1:000000000000:table"


def test_a_transaction_needs_each_items_action_on_each_table():
    body = {
        "TransactItems": [
            {"Put": {"TableName": "sessions"}},
            {"Update": {"TableName": "connections"}},
            {"ConditionCheck": {"TableName": "sessions"}},
            {"Delete": {"TableName": "connections"}},
        ]
    }
    assert list(required_permissions("TransactWriteItems", body, PREFIX)) == [
        ("dynamodb:PutItem", f"{PREFIX}/sessions"),
        ("dynamodb:UpdateItem", f"{PREFIX}/connections"),
        ("dynamodb:ConditionCheckItem", f"{PREFIX}/sessions"),
        ("dynamodb:DeleteItem", f"{PREFIX}/connections"),
    ]


def test_a_query_on_an_index_needs_the_index_arn_and_batches_each_table():
    assert list(required_permissions("Query", {"TableName": "c", "IndexName": "by-language"}, PREFIX)) == [
        ("dynamodb:Query", f"{PREFIX}/c/index/by-language")
    ]
    batch = {"RequestItems": {"a": {}, "b": {}}}
    assert list(required_permissions("BatchGetItem", batch, PREFIX)) == [
        ("dynamodb:BatchGetItem", f"{PREFIX}/a"),
        ("dynamodb:BatchGetItem", f"{PREFIX}/b"),
    ]
    assert list(required_permissions("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "a"}}]}, PREFIX)) == [
        ("dynamodb:GetItem", f"{PREFIX}/a")
    ]
    assert list(required_permissions("ListTables", {}, PREFIX)) == [("dynamodb:ListTables", "*")]
