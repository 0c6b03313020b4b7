"""Getting data into Wattprint: the landing-zone contract, file importers, the MQTT service and
the plant simulator. Nothing here imports dagster (arrows point into the libraries, never out)."""
