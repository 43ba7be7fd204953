"""Discovery: ``farmwatch scan CIDR|RANGE...`` and the daemon's slow rescans of configured ranges, one module per
job: the sweep and identification both share (:mod:`.sweep`), what the command prints and writes
(:mod:`.output`), the command itself (:mod:`.cli`) and the daemon's rediscovery collector (:mod:`.discovery`)."""
