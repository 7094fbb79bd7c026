"""LLM judges over OpenAI-compatible endpoints (planned; the async Reward seam is ready for them)."""
