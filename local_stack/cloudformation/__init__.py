"""Reading the synthesized CloudFormation template: resources, physical names, intrinsics."""
