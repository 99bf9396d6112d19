"""One switch for where parallel work runs: local processes (joblib/loky) or a Dask cluster.

Every parallel loop in the package goes through :class:`joblib.Parallel`, so choosing the backend
here moves the whole pipeline without code changes. With ``backend="dask"`` joblib hands tasks to a
``dask.distributed`` scheduler: start one on a cluster (``dask scheduler`` on one machine, ``dask
worker tcp://SCHEDULER:8786`` on the others), install this package on every worker, make the report
files readable from the workers at the same path (shared or network file system), then run::

    themes run /shared/reviews --backend dask --scheduler tcp://SCHEDULER:8786 --out build/national

Results are identical to a single-machine run: work items are files, processed independently and
collected in a fixed order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from themes.errors import ThemesError

BACKENDS = ("loky", "threading", "dask")


@contextlib.contextmanager
def parallel_backend(
    backend: str = "loky", scheduler: str | None = None, connect_timeout: str = "10s"
) -> Iterator[object | None]:
    """Run the enclosed code's joblib loops on ``backend``.

    Args:
        backend: ``loky`` (local processes, the default), ``threading`` or ``dask``.
        scheduler: For ``dask``: the scheduler address (``tcp://host:8786``), or a
            ``distributed.Client`` / ``LocalCluster`` object already running.
        connect_timeout: How long to wait for the scheduler before giving up.

    Yields:
        The Dask client for ``dask`` (so callers can inspect the cluster), else ``None``.

    Raises:
        ThemesError: unknown backend, missing scheduler, or a scheduler that cannot be reached.

    Examples:
        >>> with parallel_backend("threading"):
        ...     pass
    """
    import joblib

    if backend not in BACKENDS:
        raise ThemesError(
            f"--backend: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    if backend != "dask":
        with joblib.parallel_config(backend=backend):
            yield None
        return
    if scheduler is None:
        raise ThemesError("--backend dask needs --scheduler ADDRESS, e.g. tcp://127.0.0.1:8786")
    from distributed import Client

    owns_client = isinstance(scheduler, str)
    try:
        client = (
            Client(scheduler, timeout=connect_timeout, set_as_default=False)
            if owns_client
            else scheduler
        )
        if not isinstance(client, Client):
            client = Client(client, set_as_default=False)
            owns_client = True
    except OSError as error:
        raise ThemesError(
            f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})"
        ) from None
    try:
        with joblib.parallel_config(backend="dask", client=client):
            yield client
    finally:
        if owns_client:
            client.close()
