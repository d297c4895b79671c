// "Did you mean" for misspelt keys and values: the closest candidate by Damerau-Levenshtein
// (optimal string alignment) distance, when it is close enough to be a plausible typo.
// Bounded work: a candidate whose length differs from the word's by more than the allowed
// distance cannot match and is never compared, so a 1 MB value costs one length check per candidate.

/** Edit distance with three rolling rows (memory O(|b|)). */
export function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  let before = new Array<number>(cols).fill(0);
  let previous = Array.from({ length: cols }, (_, j) => j);
  let current = new Array<number>(cols).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2] + 1);
      current[j] = best;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[cols - 1];
}

/** How many edit-distance tables closestMatch has computed (tests assert the work stays bounded). */
export const suggestionWork = { comparisons: 0 };

/** The best candidate within max(1, a third of the word's length) edits, case-insensitively; else undefined. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const longest = candidates.reduce((length, candidate) => Math.max(length, candidate.length), 0);
  if (word.length > longest + limit) return undefined;
  const lowerWord = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - word.length) > limit) continue;
    suggestionWork.comparisons++;
    const distance = editDistance(lowerWord, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
