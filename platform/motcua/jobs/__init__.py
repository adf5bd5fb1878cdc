"""The PostgreSQL job queue: enqueue inside the causing transaction, claim with SKIP LOCKED.

Jobs are named ``<domain>.<verb>``. A handler runs inside its job's tenant transaction and the
job is deleted in that same transaction, so its database effects happen once; a crashed worker's
lease expires and the job runs again. Failures back off with jitter and are parked, with their
error, after ``max_attempts``.
"""

from motcua.jobs.queue import Job, enqueue
from motcua.jobs.registry import JobContext, JobRegistry, Retry

__all__ = ["Job", "JobContext", "JobRegistry", "Retry", "enqueue"]
