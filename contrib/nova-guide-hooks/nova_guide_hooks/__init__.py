"""A naming policy for servers, as a nova flow hook."""
