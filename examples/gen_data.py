"""Generate the input files of the seed-talk examples (deterministic).

    python examples/gen_data.py [--dir DIR] [--mb SIZE]

writes ``in.txt`` (Zipf-distributed words, for wordcount.py), ``log.txt``
(tab-separated log lines, some starting with ERROR, for logmining.py) and
``points.txt`` (labelled 10-dimensional points, for logistic_regression.py).
"""
import argparse
import os
import random

WORDS = ("spark rdd python lambda cluster memory shuffle partition worker driver cache lineage "
         "stage task job map filter reduce join group sort key value data fast simple").split()


def zipf_words(rng, count):
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    return rng.choices(WORDS, weights, k=count)


def write_text(path, size_bytes, rng):
    with open(path, "w") as out:
        written = 0
        while written < size_bytes:
            line = " ".join(zipf_words(rng, rng.randint(3, 15))) + "\n"
            out.write(line)
            written += len(line)


def write_log(path, size_bytes, rng):
    levels = ["INFO", "INFO", "INFO", "WARN", "ERROR"]
    topics = ["foo", "bar", "disk", "net", "mysql", "php"]
    with open(path, "w") as out:
        written = n = 0
        while written < size_bytes:
            level = rng.choice(levels)
            msg = f"{rng.choice(topics)} {' '.join(zipf_words(rng, 4))}"
            line = f"{level}\t2013-08-{1 + n % 28:02d} 12:{n % 60:02d}\t{msg}\n"
            out.write(line)
            written += len(line)
            n += 1


def write_points(path, count, rng, dims=10):
    with open(path, "w") as out:
        for _ in range(count):
            y = rng.choice((-1, 1))
            xs = [rng.gauss(0.7 * y, 1.0) for _ in range(dims)]
            out.write(" ".join([str(y)] + [f"{x:.6f}" for x in xs]) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".", help="where to write the files")
    parser.add_argument("--mb", type=float, default=8.0, help="size of in.txt and log.txt in MB")
    parser.add_argument("--points", type=int, default=100_000, help="points for logistic regression")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(42)
    size = int(args.mb * 1e6)
    write_text(os.path.join(args.dir, "in.txt"), size, rng)
    write_log(os.path.join(args.dir, "log.txt"), size, rng)
    write_points(os.path.join(args.dir, "points.txt"), args.points, rng)
    print(f"wrote in.txt, log.txt ({args.mb:g} MB each) and points.txt ({args.points} points) "
          f"in {os.path.abspath(args.dir)}")


if __name__ == "__main__":
    main()
