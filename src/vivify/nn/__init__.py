"""Neural network modules (nn.Module only): LivePortrait-compatible networks."""
