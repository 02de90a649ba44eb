"""Benchmarks: browser download/latency figures, training speed and a loopback load test.

Run ``python -m benchmarks --model <model folder> --runs <build folders...>``; it writes
docs/benchmarks.md. It needs the train+test extras and Chromium; the load test also needs
``wrk`` (without it, the report says the load test was skipped and how to enable it).
"""
