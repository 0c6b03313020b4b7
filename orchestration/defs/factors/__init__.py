"""Factor updates as Dagster work: the jobs that restate emissions and the sensor that starts
them when a new factor version or instrument lands."""
