#!/usr/bin/env python3
"""make_prompts.py: a deterministic course-format prompt file for benchmarks.

    tools/make_prompts.py --count 2048 --seed 1 [--min-words 6 --max-words 30] > prompts.txt
    tools/make_prompts.py --count 64 --long > long.txt     # 1,000-2,000 token prompts

Short prompts are 6-30 words of varied text (questions, instructions, code,
numbers, a little non-English), which is 8-40 o200k tokens; --long glues
sentences into prompts of roughly 1,000-2,000 tokens for prefill timing.
Output: the course text format (count line, one prompt per line).
"""
import argparse
import random

WORDS = ("time year people way day man thing woman life child world school state family "
         "student group country problem hand part place case week company system program "
         "question work government number night point home water room mother area money "
         "story fact month lot right study book eye job word business issue side kind head "
         "house service friend father power hour game line end member law car city community "
         "name president team minute idea kid body information back parent face others level "
         "office door health person art war history party result change morning reason "
         "research girl guy moment air teacher force education").split()
STARTS = ["Explain why", "Write a short story about", "What is the", "Summarize the",
          "List three facts about", "Translate into French:", "def compute_", "Describe how the",
          "In 1923, the", "Q: How many", "Give an example of", "The main difference between",
          "Write a haiku about", "Como se dice", "Warum ist der", "请解释一下", "Calculate 17 *"]


def sentence(rng, lo, hi):
    n = rng.randint(lo, hi)
    start = rng.choice(STARTS)
    words = [rng.choice(WORDS) for _ in range(max(1, n - len(start.split())))]
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words) + 1), str(rng.randint(0, 99999)))
    return start + " " + " ".join(words)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-words", type=int, default=6)
    ap.add_argument("--max-words", type=int, default=30)
    ap.add_argument("--long", action="store_true", help="prompts of ~1,000-2,000 tokens")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    print(a.count)
    for _ in range(a.count):
        if a.long:
            target = rng.randint(800, 1600)  # words; ~1.25 tokens per word
            parts, n = [], 0
            while n < target:
                s = sentence(rng, 10, 30) + "."
                parts.append(s)
                n += len(s.split())
            print(" ".join(parts))
        else:
            print(sentence(rng, a.min_words, a.max_words))


if __name__ == "__main__":
    main()
