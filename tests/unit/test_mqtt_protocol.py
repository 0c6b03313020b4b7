"""The ingest service speaks MQTT 5 by default and 3.1.1 on request (the demo's embedded broker
speaks only 3.1.1); shared subscriptions exist only in MQTT 5."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingestion.mqtt.__main__ import config_from_args, parse_args
from ingestion.mqtt.config import IngestConfig


def test_mqtt_5_by_default():
    assert IngestConfig().protocol == "5"
    assert config_from_args(parse_args([])).protocol == "5"


def test_3_1_1_from_the_command_line():
    assert config_from_args(parse_args(["--protocol", "3.1.1"])).protocol == "3.1.1"


def test_shared_subscription_needs_mqtt_5():
    with pytest.raises(ValidationError, match="shared subscriptions need MQTT 5"):
        IngestConfig(protocol="3.1.1", shared_group="ingestors")


@pytest.mark.parametrize("version", ["4", "3", "5.0", ""])
def test_unknown_versions_are_rejected(version):
    with pytest.raises(ValidationError):
        IngestConfig(protocol=version)
