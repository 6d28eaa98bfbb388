"""`make bench`: page throughput and latency against a bare Pyramid view, at two catalog sizes."""
