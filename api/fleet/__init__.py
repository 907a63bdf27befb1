"""A county at once: plan, simulate or size every village of a fleet as independent tasks.

A fleet is a folder of site files or the service's site registry, filtered by county and
township (``api.fleet.roster``). Each site is one task that receives the site as JSON data and
returns plain results (``api.fleet.tasks``); plan tasks store their plan in the database
themselves under an idempotent id, so a worker that dies loses nothing. The tasks run on an
executor (``api.fleet.executor``): in this process, or on Dask distributed — a
``LocalCluster``, an existing scheduler, or a cluster started by dask-jobqueue.
"""
