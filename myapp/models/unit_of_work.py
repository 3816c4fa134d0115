"""One unit of work per request: commit on normal return, roll back on an exception, close always."""

import logging

log = logging.getLogger(__name__)


def get_dbsession(request):
    session = request.loop_state.db_sessions()
    # A safety net for a session first used after the tween has finished (an
    # exception view, a response callback): it is rolled back and closed.
    request.add_finished_callback(_close_leftover)
    return session


async def _finish(session, commit):
    try:
        if commit:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()


def _finish_request(request, commit):
    session = request.__dict__.pop("dbsession", None)
    if session is not None:
        request.run_async(_finish(session, commit))


def _close_leftover(request):
    try:
        _finish_request(request, commit=False)
    except Exception:
        log.exception("closing the database session of %s %s failed", request.method, request.path)


def run_in_session(registry, fn):
    """Run ``fn(session)`` as one unit of work outside a request (scripts, tests), on this thread's loop."""
    runtime = registry.aio_runtime

    async def unit():
        async with runtime.worker_loop().state.db_sessions() as session:
            result = await fn(session)
            await session.commit()
            return result

    return runtime.run(unit())


def unit_of_work_tween_factory(handler, registry):
    """Sits under the exception view tween: a failed commit is rendered by the exception views."""

    def unit_of_work_tween(request):
        try:
            response = handler(request)
        except BaseException:
            _close_leftover(request)
            raise
        _finish_request(request, commit=True)
        return response

    return unit_of_work_tween
