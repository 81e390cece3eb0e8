"""CloudFormation's intrinsic functions, resolved as a deploy would resolve them."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.cloudformation.template import StackTemplate, TemplateError

BODY = {
    "Resources": {
        "SessionsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "sessions-local"}},
        "UnnamedTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": {"Fn::Join": ["-", ["session", {"Ref": "AWS::Region"}]]}},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "handler-role"}},
        "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }
}


@pytest.fixture
def template() -> StackTemplate:
    return StackTemplate(BODY, stack_name="Stack-local", region="eu-west-1", assembly_dir=Path("/nowhere"))


def test_ref_gives_the_physical_name_or_the_logical_id(template):
    assert template.resolve({"Ref": "SessionsTable"}) == "sessions-local"
    assert template.resolve({"Ref": "UnnamedTable"}) == "UnnamedTable"
    assert template.resolve({"Ref": "Queue"}) == "Queue"


def test_a_physical_name_may_itself_be_an_intrinsic(template):
    assert template.resolve({"Ref": "Handler"}) == "session-eu-west-1"


def test_pseudo_parameters(template):
    assert template.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert template.resolve({"Ref": "AWS::AccountId"}) == "000000000000"
    assert template.resolve({"Ref": "AWS::StackName"}) == "Stack-local"
    assert template.resolve({"Ref": "AWS::NoValue"}) is None
    assert template.resolve({"Ref": "AWS::NotAPseudoParameter"}) == ""


def test_ref_to_an_unknown_resource_is_a_named_error(template):
    with pytest.raises(TemplateError, match="Missing"):
        template.resolve({"Ref": "Missing"})


def test_get_att_in_both_spellings(template):
    arn = "arn:aws:dynamodb:eu-west-1:000000000000:table/sessions-local"
    assert template.resolve({"Fn::GetAtt": ["SessionsTable", "Arn"]}) == arn
    assert template.resolve({"Fn::GetAtt": "SessionsTable.Arn"}) == arn
    assert template.resolve({"Fn::GetAtt": ["SessionsTable", "StreamArn"]}) == arn + "/stream/local"
    assert template.resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "arn:aws:iam::000000000000:role/handler-role"


def test_an_unmodelled_attribute_resolves_to_a_recognisable_local_arn(template):
    assert template.resolve({"Fn::GetAtt": ["Queue", "Url"]}) == "arn:aws:local:eu-west-1:000000000000:Queue/Url"


def test_api_ids_are_stable_ten_characters_of_api_gateways_alphabet(template):
    api_id = template.resolve({"Ref": "Api"})
    assert len(api_id) == 10 and api_id.isalnum() and api_id == api_id.lower()
    assert api_id == StackTemplate(BODY, stack_name="x", region="y", assembly_dir=Path()).physical_id("Api")
    endpoint = template.resolve({"Fn::GetAtt": ["Api", "ApiEndpoint"]})
    assert endpoint == f"wss://{api_id}.execute-api.eu-west-1.amazonaws.com"


def test_join_select_and_split_nest(template):
    joined = {"Fn::Join": ["/", [{"Ref": "SessionsTable"}, {"Fn::Join": ["", ["a", "b"]]}]]}
    assert template.resolve(joined) == "sessions-local/ab"
    split = {"Fn::Split": [":", {"Fn::GetAtt": ["SessionsTable", "Arn"]}]}
    assert template.resolve({"Fn::Select": [3, split]}) == "eu-west-1"
    assert template.resolve({"Fn::Select": ["1", ["zero", {"Ref": "SessionsTable"}]]}) == "sessions-local"


def test_sub_with_pseudo_parameters_resources_and_attributes(template):
    text = "${AWS::Region}:${SessionsTable}:${Role.Arn}"
    assert template.resolve({"Fn::Sub": text}) == "eu-west-1:sessions-local:arn:aws:iam::000000000000:role/handler-role"


def test_sub_variables_are_resolved_and_win_over_resources(template):
    sub = {
        "Fn::Sub": [
            "${SessionsTable}/${Name}/${AWS::AccountId}",
            {"SessionsTable": "shadowed", "Name": {"Fn::Join": ["-", [{"Ref": "Handler"}, "x"]]}},
        ]
    }
    assert template.resolve(sub) == "shadowed/session-eu-west-1-x/000000000000"


def test_sub_naming_an_unknown_resource_is_a_named_error(template):
    with pytest.raises(TemplateError, match="Nope"):
        template.resolve({"Fn::Sub": "${Nope}"})


def test_an_unknown_intrinsic_is_left_as_it_is_with_its_arguments_resolved(template):
    assert template.resolve({"Fn::Base64": {"Ref": "SessionsTable"}}) == {"Fn::Base64": "sessions-local"}


def test_plain_structures_resolve_recursively(template):
    value = {"A": [{"Ref": "SessionsTable"}, 3, None], "B": {"C": {"Ref": "AWS::Region"}}, "D": True}
    assert template.resolve(value) == {"A": ["sessions-local", 3, None], "B": {"C": "eu-west-1"}, "D": True}


def test_of_type_and_a_digest_that_changes_with_the_body(template):
    assert [r.logical_id for r in template.of_type("AWS::DynamoDB::Table")] == ["SessionsTable", "UnnamedTable"]
    other = StackTemplate({"Resources": {}}, stack_name="Stack-local", region="eu-west-1", assembly_dir=Path())
    assert template.digest() != other.digest()


def test_load_names_the_missing_template(tmp_path):
    with pytest.raises(TemplateError, match="make synth"):
        StackTemplate.load(tmp_path, "Absent", "us-east-1")
