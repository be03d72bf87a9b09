"""Discovery: sweep address ranges with the configured credentials, tell what answers, what
`profile: auto` would choose for it and why (docs/discovery.md)."""
