"""Benchmarks: browser download/latency figures, training speed and a loopback load test.

Run ``python -m benchmarks --model <model folder> --runs <build folders...>``; it writes
docs/benchmarks.md. It needs the train+test extras, Chromium and Debian's ``wrk``.
"""
