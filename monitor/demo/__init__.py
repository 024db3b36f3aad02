"""The offline demo: sample data, a local fake platform and the runner behind `monitor demo`."""
