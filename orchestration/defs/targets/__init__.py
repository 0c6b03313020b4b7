"""The reduction targets of $WATTPRINT_HOME/targets.json resolved for the warehouse (the
`targets` group): what marts.rpt_target_progress reads, and the warehouse baseline the
forecasting assets share."""
