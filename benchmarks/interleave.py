"""Runs of a workload interleaved engine by engine, merged into one result per engine.

The machine's speed drifts, by up to 40% over minutes on a shared machine.
If each engine ran all its runs back to back, one after the other, the drift
would land in the ratio between two engines.  Here round k runs every engine
once, the ideal first, each in a fresh child (``--runs 1``), so a slow spell
slows every engine of that round alike.  The rounds of one engine are then
merged into the result a single child would have written for all its runs
(see ``EngineRounds.merged``), which is what ``compare.py`` reports.  Two
forms of one job whose ratio is reported run in the same rounds, for the same
reason (``run_rounds``).
"""
import statistics
import time

from .workloads import agree

__all__ = ["EngineRounds", "run_rounds"]


class EngineRounds:
    """One engine's rounds on one workload so far, and whether it starts another.

    An engine stops after a failed child, an answer that differs from its own
    earlier one or from the ideal's, or once its runs have used ``budget``
    seconds (it always runs at least once).
    """

    def __init__(self, name, budget):
        self.name = name
        self.budget = budget
        #: every child's result, in round order
        self.rounds = []
        #: the engine's first answer: every later round must agree with it
        self.answer = None
        #: seconds of runs so far (whole calls, as the child's own budget counts them)
        self.spent = 0.0
        #: why the result is not ok, from the rounds' answers (a failed child says its own)
        self.error = None
        #: "ok", "WRONG" or "unchecked (the ideal failed)"; the ideal's own stays None
        self.verdict = None

    @property
    def failed(self):
        return self.error is not None or any(not r.get("ok") for r in self.rounds)

    def wants_another(self):
        return not self.failed and (not self.rounds or self.spent < self.budget)

    def add(self, result, reference):
        """Record one round's child result; ``reference`` is the ideal's answer, if any."""
        self.rounds.append(result)
        if not result.get("ok"):
            return
        self.spent += sum(run["total"] for run in result.get("runs", []))
        got = result["summary"]
        if self.name != "ideal":
            if reference is None:
                self.verdict = "unchecked (the ideal failed)"
            elif agree(reference, got):
                self.verdict = self.verdict or "ok"
            else:
                self.verdict = "WRONG"
                self.error = f"wrong answer: {got['show']} (ideal: {reference['show']})"
                return
        if self.answer is None:
            self.answer = got
        elif not agree(self.answer, got):  # the ideal's own, or one that nothing checks
            self.error = (f"round {len(self.rounds)} answered {got['show']} "
                          f"after {self.answer['show']}")

    def merged(self):
        """The rounds as one result: runs in round order, each peak (memory, RSS,
        tmpfs) the largest of any round, the median start-up, every version seen, and
        the last round's answer, error and log (the rounds stop at the first failure or
        wrong answer)."""
        merged = dict(self.rounds[-1])
        merged["runs"] = [run for r in self.rounds for run in r.get("runs", [])]
        startups = [r["startup"] for r in self.rounds if r.get("startup") is not None]
        if startups:
            merged["startup"] = statistics.median(startups)
        for peak in ("peak_memory", "peak_rss", "peak_shm"):
            merged[peak] = max(r.get(peak, 0) for r in self.rounds)
        merged["max_procs"] = max(r.get("max_procs", 0) for r in self.rounds)
        merged["wall"] = sum(r.get("wall", 0.0) for r in self.rounds)
        merged["versions"] = {}
        for r in self.rounds:
            merged["versions"].update(r.get("versions") or {})
        if "summary" not in merged and self.answer is not None:  # the last child failed
            merged["summary"] = self.answer
        merged["rounds"] = [{k: v for k, v in r.items() if k not in ("runs", "summary")}
                            for r in self.rounds]
        merged["ok"] = not self.failed
        if self.error is not None:
            merged["error"] = self.error
        if self.verdict is not None:
            merged["verdict"] = self.verdict
        return merged


def run_rounds(plan, runs, budget, run_one, log=None):
    """``{(workload, engine): merged result}`` after up to ``runs`` rounds of
    ``run_one(workload, engine, round)``.

    ``plan`` maps each workload to its engines in running order, the ideal
    first: its answer is the reference that workload's other engines are checked
    against.  Round k runs every workload of the plan.  A plan of two workloads
    is two forms of one job whose ratio is reported (PageRank with and without a
    partitioner): run in the same rounds, the drift of the machine's speed lands
    on both, and their order alternates round by round so that neither always
    runs first.  With ``log`` and more than one round, one line per round gives
    each engine's job time.
    """
    players = {(w, name): EngineRounds(name, budget) for w, names in plan.items()
               for name in names}
    order = list(plan)
    for k in range(runs):
        if not any(e.wants_another() for e in players.values()):
            break
        start, times = time.perf_counter(), []
        for workload in (order if k % 2 == 0 else order[::-1]):
            ideal = players.get((workload, "ideal"))
            for name in plan[workload]:
                engine = players[(workload, name)]
                if engine.wants_another():
                    engine.add(run_one(workload, name, k), ideal.answer if ideal else None)
                    times.append((workload, name, _round_time(engine.rounds[-1])))
        if log is not None and runs > 1:
            log(f"   round {k + 1}/{runs} ({time.perf_counter() - start:.0f} s): "
                + ", ".join(f"{name} {t}" if len(plan) == 1 else f"{w}/{name} {t}"
                            for w, name, t in times))
    return {key: engine.merged() for key, engine in players.items()}


def _round_time(result):
    runs = result.get("runs") or []
    return f"{runs[0]['job']:.2f} s" if result.get("ok") and runs else "failed"
