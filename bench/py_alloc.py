# The real-program row of bench/preload-bench.sh: an allocation-heavy,
# deterministic Python run (no clock, no randomness, no I/O): a dictionary
# of short-lived records churned by key, strings built and split, lists
# sorted and dropped. With PYTHONMALLOC=malloc every object is a malloc
# call; with Python's default allocator only arenas and large objects are.
import sys


def churn(n):
    table = {}
    for i in range(n):
        key = "k%d" % (i % 4093)
        table[key] = [i, str(i), (i, i * 3), {"n": i}]
        if i % 3 == 0:
            table.pop("k%d" % ((i * 7) % 4093), None)
    return len(table)


def text(n):
    words = []
    for i in range(n):
        line = " ".join(str(i * j) for j in range(8))
        words.extend(line.split())
    words.sort()
    return len(words)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    total = churn(n) + text(n // 4)
    if total <= 0:
        sys.exit(1)


main()
