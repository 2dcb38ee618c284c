# python_app.py: a typical Python program for bench/python-heap.sh, next to the
# allocation stress test python_alloc.py: the work of a log-processing job, with the
# standard library's usual tools. Each round makes a batch of records (dataclasses),
# writes them as JSON lines and parses them back, tokenises their text with a regular
# expression, counts words and status codes (collections.Counter, dicts), sorts and
# groups, and formats a report with f-strings. ROUNDS is argv[1]; the input is
# generated from a fixed seed, so every run does the same work.
import collections
import dataclasses
import json
import random
import re
import sys

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon phi chi psi omega").split()
TOKEN = re.compile(r"[a-z]+|\d+")


@dataclasses.dataclass
class Request:
    path: str
    status: int
    millis: float
    agent: str
    text: str


def make_batch(rng, n):
    out = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
        out.append(Request(path="/api/%s/%d" % (rng.choice(WORDS), rng.randint(1, 500)),
                           status=rng.choice((200, 200, 200, 201, 304, 404, 500)),
                           millis=rng.expovariate(1 / 40.0),
                           agent="client-%d" % rng.randint(1, 40),
                           text=words))
    return out


def roundtrip(batch):
    lines = [json.dumps(dataclasses.asdict(r), sort_keys=True) for r in batch]
    return [Request(**json.loads(line)) for line in lines]


def analyse(batch):
    words = collections.Counter()
    status = collections.Counter()
    by_path = collections.defaultdict(list)
    for r in batch:
        words.update(TOKEN.findall(r.text))
        status[r.status] += 1
        by_path[r.path.rsplit("/", 1)[0]].append(r.millis)
    slow = sorted(batch, key=lambda r: r.millis, reverse=True)[:20]
    groups = {}
    for path, ms in by_path.items():
        ms.sort()
        groups[path] = (len(ms), ms[len(ms) // 2], ms[int(len(ms) * 0.99)])
    return words, status, slow, groups


def report(words, status, slow, groups):
    out = ["top words: " + ", ".join(f"{w}={n}" for w, n in words.most_common(10))]
    out += [f"status {s}: {n}" for s, n in sorted(status.items())]
    out += [f"{p:<24} n={n:5d} p50={p50:8.2f} p99={p99:8.2f}" for p, (n, p50, p99) in sorted(groups.items())]
    out += [f"slow {r.path} {r.millis:.1f} ms ({r.agent})" for r in slow]
    return "\n".join(out)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rng = random.Random(1234)
    total = 0
    for _ in range(rounds):
        batch = roundtrip(make_batch(rng, 2000))
        total += len(report(*analyse(batch)))
    print(total)


main()
