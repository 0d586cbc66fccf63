"""The foundation every stage imports, and which imports no stage: typed settings, the error base,
structured logs, metric definitions, retry policy, runtime tuning and the CLI helpers stages share."""
