"""``RDD.pipe`` in the worker: a partition's elements through an external command."""
import shlex
import subprocess
import threading

__all__ = ["through_command"]


def through_command(command, env, check_code):
    """``f(split, iterator)`` yielding the command's output lines for the partition's elements.

    A thread writes the elements (one per line) to the command's stdin while
    the task reads its stdout, so neither side can block the other on a
    full pipe.  An error while writing is raised in the task, after the
    output read so far.
    """
    def run(_, iterator):
        proc = subprocess.Popen(shlex.split(command), env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        feeder_error = []

        def feed(out):
            try:
                for obj in iterator:
                    out.write((str(obj).rstrip("\n") + "\n").encode("utf-8"))
            except BrokenPipeError:
                pass
            except BaseException as e:  # re-raised in the task below
                feeder_error.append(e)
            finally:
                try:
                    out.close()
                except BrokenPipeError:
                    pass

        feeder = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
        feeder.start()
        for line in iter(proc.stdout.readline, b""):
            yield line.rstrip(b"\n").decode("utf-8")
        feeder.join()
        proc.stdout.close()
        code = proc.wait()
        if feeder_error:
            raise feeder_error[0]
        if check_code and code:
            raise RuntimeError(f"Pipe function `{command}' exited with error code {code}")

    return run
