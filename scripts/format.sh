#!/usr/bin/env bash
# Rewrites the Swift sources to the house format (what `swift format lint --strict` checks in scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format format --in-place --recursive Sources Tests Package.swift Benchmarks/Benchmarks Benchmarks/Package.swift Fuzz/Sources Fuzz/Package.swift
