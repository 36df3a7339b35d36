"""A job's lineage as plain data: its RDDs grouped into the stages the scheduler will run.

``describe_job`` is what ``JobStart.graph`` carries, so that readers of the
event stream (the web UI's lineage picture, the event log) never hold RDD
objects.  The stages are cut where the scheduler cuts them, at shuffles::

    {"stages": [{"key": 3, "rdds": [4, 5], "parents": [], "rdd": 5, "tasks": 8,
                 "skipped": False},
                {"key": None, "rdds": [6, 7], "parents": [3], "rdd": 7, "tasks": 2,
                 "skipped": False}],
     "rdds":   {"4": {"kind": "ParallelCollectionRDD", "op": "parallelize", ...}, ...},
     "edges":  [[3, 4, 3, 5], [3, 5, None, 6], [None, 6, None, 7]]}

A stage's ``key`` is the shuffle id its map side writes, or None for the
result stage; stages come parents first.  An edge ``[k1, a, k2, b]`` says
RDD ``b`` of stage ``k2`` reads RDD ``a`` of stage ``k1`` (a shuffle when
the keys differ).  A map stage whose output is already there is
``skipped``, as in Spark's UI.  RDDs past ``MAX_RDDS`` are left out
(``truncated``): a picture of a thousand-step loop helps nobody.
"""

__all__ = ["describe_job", "shuffles_of", "MAX_RDDS"]

#: RDDs drawn at most per job
MAX_RDDS = 300


def describe_job(rdd, shuffle_done, result_tasks=None):
    """The graph of the job computing ``rdd``; ``shuffle_done(id)`` says a map output exists.

    Each stage also says its ``tasks``: the partitions of its last RDD (for the
    result stage, ``result_tasks``: an action may ask for fewer).
    """
    stages, index, rdds, edges = [], {}, {}, []
    truncated = False

    def visit_stage(key, top):
        nonlocal truncated
        if key in index:
            return
        stage = index[key] = {"key": key, "rdds": [], "parents": [], "rdd": top._id,
                              "tasks": top.getNumPartitions() if key is not None or
                              result_tasks is None else result_tasks,
                              "skipped": key is not None and shuffle_done(key)}
        seen, todo = set(), [top]
        while todo:
            r = todo.pop()
            if r._id in seen:
                continue
            if len(rdds) >= MAX_RDDS and r._id not in rdds:
                truncated = True
                continue
            seen.add(r._id)
            stage["rdds"].append(r._id)
            rdds.setdefault(r._id, _describe_rdd(r))
            dep = r._shuffle_dep
            if dep is not None:
                visit_stage(dep.shuffle_id, r._parent)
                if dep.shuffle_id not in stage["parents"]:
                    stage["parents"].append(dep.shuffle_id)
                edges.append([dep.shuffle_id, r._parent._id, key, r._id])
                continue
            for parent in r._narrow_parents():
                edges.append([key, parent._id, key, r._id])
                todo.append(parent)
        stage["rdds"].sort()
        stages.append(stage)  # after its parents: parents first

    visit_stage(None, rdd)
    return {"stages": stages, "rdds": {str(k): v for k, v in rdds.items()},
            "edges": [e for e in edges if e[1] in rdds and e[3] in rdds],
            "truncated": truncated}


def _describe_rdd(r):
    op, site = r._site
    level = r._storage_level
    return {"id": r._id, "name": r._name, "kind": r._plan.kind,
            "label": r._plan.label.strip() or None,
            "op": op, "site": site, "partitions": r.getNumPartitions(),
            "storage": str(level) if r.is_cached else None,
            "storage_level": _level_words(level) if r.is_cached else None}


def _level_words(level):
    """Spark's UI words for a storage level ("Memory Deserialized 1x Replicated")."""
    where = " ".join(w for w, on in (("Disk", level.useDisk), ("Memory", level.useMemory)) if on)
    kind = "Deserialized" if level.deserialized else "Serialized"
    return f"{where or 'None'} {kind} {level.replication}x Replicated"


def shuffles_of(rdd):
    """``(shuffle id, map tasks)`` of every shuffle in ``rdd``'s lineage, parents first.

    Spark counts a job's map stages over its whole lineage, those whose
    output is already there (skipped) included; this walk is what that
    count needs, without describing every RDD.
    """
    found, seen, stack = [], set(), [rdd]
    while stack:
        r = stack.pop()
        if r._id in seen:
            continue
        seen.add(r._id)
        dep = r._shuffle_dep
        if dep is not None:
            found.append((dep.shuffle_id, dep.num_maps))
            stack.append(r._parent)
        else:
            stack.extend(r._narrow_parents())
    found.reverse()
    return found
