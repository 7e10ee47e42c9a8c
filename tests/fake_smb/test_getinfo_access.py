"""QUERY_INFO holds each file information class to the access it needs (MS-FSA 2.1.5.11,
smbtorture smb2.getinfo.getinfo_access)."""

from __future__ import annotations

import pytest

from tests.fake_smb.raw_requests import open_file, query_info

INFO_FILE = 1
BASIC, STANDARD, INTERNAL, ACCESS, ALL, NETWORK_OPEN = 4, 5, 6, 8, 18, 34
STATUS_ACCESS_DENIED = 0xC0000022
SYNCHRONIZE, READ_DATA, READ_ATTRIBUTES = 0x00100000, 0x1, 0x80


@pytest.fixture
def tree(clients):
    return clients.login().tree


@pytest.mark.parametrize("cls", [BASIC, ALL, NETWORK_OPEN])
def test_attribute_classes_need_read_attributes(tree, cls):
    without = open_file(tree, "f.txt", SYNCHRONIZE | READ_DATA)
    with_it = open_file(tree, "f.txt", SYNCHRONIZE | READ_ATTRIBUTES)
    assert query_info(without, INFO_FILE, cls)[0] == STATUS_ACCESS_DENIED
    assert query_info(with_it, INFO_FILE, cls)[0] == 0


@pytest.mark.parametrize("cls", [STANDARD, INTERNAL, ACCESS])
def test_other_classes_answer_whatever_the_access(tree, cls):
    handle = open_file(tree, "f.txt", SYNCHRONIZE)
    assert query_info(handle, INFO_FILE, cls)[0] == 0
