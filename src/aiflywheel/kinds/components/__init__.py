"""Pretrained building blocks shared by several kinds, each loaded lazily and at most once per process."""
