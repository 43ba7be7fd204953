"""Pool accounts' stats APIs, read only: the pool-side hashrate per worker (collectors/poolapi/README.md)."""
