"""`airloop backtest`: replay a project's history and compare the loop's retraining policy with a
static model and with retraining every period, on the same periods, through the same steps and the
same policy code the DAGs run."""
