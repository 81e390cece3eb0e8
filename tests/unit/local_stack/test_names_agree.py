"""The emulator imports nothing of the product (it runs any template), so the two product names it
assumes are held to the one definition here."""

from __future__ import annotations

from local_stack import layout
from local_stack.supervisor import LocalStackOptions
from session_management import resource_names as names


def test_the_local_stack_assumes_the_products_stack_name_and_api_stage():
    assert LocalStackOptions(state_dir="/tmp/unused", env="e2e").stack_name == names.stack_name("e2e")
    assert layout.API_STAGE == names.WEBSOCKET_STAGE


def test_the_tools_send_the_control_secret_in_the_header_the_stack_reads():
    """stage_access (the tools) does not import the emulator; the header name is held equal here."""
    from local_stack.control_access import SECRET_HEADER
    from stage_access.control import SECRET_HEADER as SENT

    assert SENT == SECRET_HEADER
