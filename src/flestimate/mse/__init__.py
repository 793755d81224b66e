"""Multiple systems estimation."""
