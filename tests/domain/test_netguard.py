"""The SSRF guard: which resolved addresses a webhook may go to."""

from __future__ import annotations

import pytest

from coord.domain.netguard import address_problem, parse_allow_list, refusal


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "not a public"),
    ],
)
def test_non_public_addresses_are_refused(address, why):
    problem = address_problem(address)
    assert problem is not None and why in problem


@pytest.mark.parametrize("address", ["8.8.8.8", "103.10.20.30", "2606:4700::1111"])
def test_public_addresses_pass(address):
    assert address_problem(address) is None
    assert refusal([address]) is None


def test_one_bad_address_among_several_refuses_the_destination():
    problem = refusal(["103.10.20.30", "10.0.0.5"])
    assert problem is not None and "10.0.0.5" in problem
    assert refusal([]) == "the host has no address"


def test_the_allow_list_lets_chosen_networks_through():
    allow = parse_allow_list("10.20.0.0/16, 127.0.0.0/8,192.168.7.7")
    assert refusal(["10.20.3.4"], allow) is None
    assert refusal(["127.0.0.1"], allow) is None
    assert refusal(["192.168.7.7"], allow) is None
    assert refusal(["::ffff:10.20.3.4"], allow) is None
    assert refusal(["10.21.0.1"], allow) is not None
    assert "metadata" in (refusal(["169.254.169.254"], allow) or "")


def test_the_allow_list_is_parsed_strictly():
    assert parse_allow_list("") == [] and parse_allow_list(None) == []
    with pytest.raises(ValueError, match="not-a-network"):
        parse_allow_list("10.0.0.0/8, not-a-network")
