"""Alerts pushed to MQTT and/or a webhook, each once per channel, recorded in the warehouse.

Channels come from the settings (WATTPRINT_ALERT_MQTT, WATTPRINT_ALERT_WEBHOOK). Deliveries are
appended to quality.alert_deliveries only after the broker acknowledged (QoS 1) or the webhook
answered 2xx, so a failed push is retried on the next run and never recorded as sent.
"""

import dagster as dg
import duckdb
import polars as pl

from orchestration.defs.quality.assets import ALERTS
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import Settings, load_settings
from quality.alert_push import (
    Delivery,
    MqttTarget,
    alert_messages,
    pending,
    push_mqtt,
    push_webhook,
)

DELIVERIES = dg.AssetKey(["quality", "alert_deliveries"])

_CREATE = """
create schema if not exists quality;
create table if not exists quality.alert_deliveries (
    alert_id varchar not null,
    channel varchar not null,
    delivered_at_utc timestamp not null,
    primary key (alert_id, channel)
)
"""


def _channels(settings: Settings) -> dict[str, object]:
    channels: dict[str, object] = {}
    if settings.alert_mqtt:
        channels["mqtt"] = MqttTarget.parse(
            settings.alert_mqtt, settings.alert_mqtt_user, settings.alert_mqtt_password
        )
    if settings.alert_webhook:
        channels["webhook"] = settings.alert_webhook
    return channels


def deliver_alerts(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[Delivery]:
    """Push the alerts not yet delivered on each configured channel and record them."""
    con.execute(_CREATE)
    alerts = con.sql("select * from quality.alerts").pl()
    outcomes = []
    for channel, target in _channels(settings).items():
        done = {
            row[0]
            for row in con.execute(
                "select alert_id from quality.alert_deliveries where channel = ?", [channel]
            ).fetchall()
        }
        messages = alert_messages(pending(alerts, done))
        if channel == "mqtt":
            outcome = push_mqtt(messages, target) if messages else Delivery("mqtt")
        else:
            outcome = push_webhook(messages, target) if messages else Delivery("webhook")
        if outcome.delivered:
            delivered = pl.DataFrame({"alert_id": outcome.delivered}).with_columns(
                pl.lit(channel).alias("channel")
            )
            con.register("delivered", delivered.to_arrow())
            con.execute(
                "insert into quality.alert_deliveries "
                "select alert_id, channel, now() at time zone 'UTC' from delivered"
            )
            con.unregister("delivered")
        outcomes.append(outcome)
    return outcomes


@dg.asset(
    key=DELIVERIES,
    deps=[ALERTS],
    group_name="quality",
    kinds={"duckdb", "mqtt"},
    description="Every alert pushed to the configured MQTT topic and/or webhook, once per "
    "channel, with the time the broker or webhook acknowledged it.",
    check_specs=[
        dg.AssetCheckSpec(
            "alerts_delivered",
            asset=DELIVERIES,
            description="Every configured channel accepted every alert.",
        )
    ],
)
def alert_deliveries(context: dg.AssetExecutionContext, warehouse: Warehouse):
    settings = load_settings()
    with duckdb.connect(warehouse.resolved_path()) as con:
        outcomes = deliver_alerts(con, settings)
        total = con.execute("select count(*) from quality.alert_deliveries").fetchall()[0][0]
    if not outcomes:
        context.log.info("no alert channel configured (WATTPRINT_ALERT_MQTT / _WEBHOOK)")
    errors = [f"{o.channel}: {o.error}" for o in outcomes if o.error]
    for error in errors:
        context.log.warning(error)
    yield dg.MaterializeResult(
        metadata={
            "channels": ", ".join(o.channel for o in outcomes) or "none configured",
            "delivered_now": sum(len(o.delivered) for o in outcomes),
            "delivered_total": total,
        }
    )
    yield dg.AssetCheckResult(
        check_name="alerts_delivered",
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"errors": "; ".join(errors) or "none"},
    )
