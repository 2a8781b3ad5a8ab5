"""The one entry point: routing, tokens, request IDs, rate limits, the merged OpenAPI document."""
