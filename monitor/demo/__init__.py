"""The offline demo: sample data, a local fake platform and the runner behind `monitor demo`.

Imports every layer up to the service (it runs the real daemon against its fake platform).
"""
