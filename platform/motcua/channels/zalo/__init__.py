"""The Zalo channel: webhooks in, consultation and ZNS messages out, OA tokens, OAuth connect."""
