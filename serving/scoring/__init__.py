"""Scoring: validate, score, explain, route and store every prediction as a receipt."""

# The online writer's store function, by name (the writer process imports it): a light
# constant, so that `serve` can start the process's fork server before importing scoring.
WRITER_STORE = "serving.scoring.service:store_wire"
