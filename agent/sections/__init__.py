"""The readers of site.yaml's sections, one module per job (``agent/config.py`` walks the top level and calls
them): what they share (:mod:`.reader`), the collectors' sections (:mod:`.miners`, :mod:`.snmp`, :mod:`.gpus`),
the site's own keys and the files it names (:mod:`.site`), and money and power policy (:mod:`.economics`).
Every problem is collected with file, line and key, never raised, so one check reports them all."""
