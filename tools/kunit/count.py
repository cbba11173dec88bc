#!/usr/bin/env python3
"""Count leaf KUnit cases (parameterised cases count once per parameter)
in kunit.py's --json output; print "PASSED FAILED"."""
import json
import sys


def walk(node, counts):
    subs = node.get("sub_groups") or []
    cases = node.get("test_cases") or []
    for s in subs:
        walk(s, counts)
    for c in cases:
        if c.get("sub_groups") or c.get("test_cases"):
            walk(c, counts)
        elif c.get("status") == "PASS":
            counts[0] += 1
        elif c.get("status") != "SKIP":
            counts[1] += 1


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    counts = [0, 0]
    walk(data, counts)
    print(counts[0], counts[1])


if __name__ == "__main__":
    main()
