"""The floor view: what a technician opens on a phone in the container (``/``, ``/miner/<device>``, ``/api/v1``).

``problems`` says what is wrong with a miner, ``model`` holds the rows, summary and racks, ``view`` keeps the
model current off the polling loop, ``history`` keeps each miner's last cycles, ``pages`` renders the HTML and
``routes`` puts it all on the agent's HTTP server. Decisions and screenshots: docs/floor.md.
"""
