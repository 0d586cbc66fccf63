"""Tests of processors/notifications."""
