"""The ARM HTTP layer: routing, AAD token endpoint, control plane, OpenAPI document, replies."""
